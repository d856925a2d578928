"""The set-up commands (dataset, group, user, round), run in-process against the test database,
and once as the real ``mlcontest`` console script on a fresh data folder."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.hashers import check_password
from django.db import OperationalError
from django.utils import timezone

from mlcontest.cli import base as cli_base
from mlcontest.cli import users as cli_users
from mlcontest.cli.main import main
from mlcontest.contest import dataset_sources
from mlcontest.contest.datasets import load_points
from mlcontest.contest.models import (
    ApiToken,
    Dataset,
    Group,
    Membership,
    Role,
    Round,
    RoundEvent,
    RoundState,
    User,
    hash_token_key,
)
from tests.conftest import Contest


@pytest.fixture(autouse=True)
def fast_hashing(settings: Any) -> None:
    # The real hasher takes a deliberate fraction of a second per password.
    # The default one stays second so that the console script's hashes can be checked.
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]


class Run:
    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys

    def __call__(self, *argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = self.capsys.readouterr()
        return code, out, err


@pytest.fixture
def run(db: Any, capsys: pytest.CaptureFixture[str]) -> Run:
    return Run(capsys)


def group_name_of(username: str) -> str | None:
    membership = Membership.objects.filter(user__username=username).first()
    return membership.group.name if membership else None


def test_choice_lists_agree_with_the_domain() -> None:
    assert set(cli_users.ROLE_CHOICES) == set(Role.values)


# --- dataset ---------------------------------------------------------------------------------


def test_dataset_generate_stores_the_points_and_says_so(run: Run) -> None:
    code, out, err = run("dataset", "generate", "moons", "moons", "--points", "80", "--seed", "4")
    assert (code, err) == (0, "")
    dataset = Dataset.objects.get(name="moons")
    loaded = load_points(dataset)
    assert len(loaded.labels) == 80 and dataset.feature_names == ["x", "y"]
    counts = {split: loaded.count(split) for split in ("training", "test", "validation")}
    assert out.startswith(f"created dataset 'moons' (id {dataset.pk}; ")
    assert f"training {counts['training']}, test {counts['test']}" in out
    assert dataset.description in out and "seed 4" in dataset.description


def test_dataset_generate_passes_noise_and_classes(run: Run) -> None:
    code, _, _ = run(
        "dataset", "generate", "arms", "spirals", "--classes", "4", "--noise", "0.3", "--seed", "2"
    )
    assert code == 0
    expected = dataset_sources.generate("spirals", noise=0.3, seed=2, n_classes=4)
    dataset = Dataset.objects.get(name="arms")
    assert dataset.class_labels == ["0", "1", "2", "3"]
    assert list(load_points(dataset).splits) == expected.splits


def test_dataset_sklearn_refuses_a_taken_name_unless_replace(run: Run) -> None:
    assert run("dataset", "sklearn", "flowers", "iris", "--seed", "1")[0] == 0
    flowers = Dataset.objects.get(name="flowers")
    assert flowers.class_labels == ["setosa", "versicolor", "virginica"]
    version = flowers.version

    code, out, err = run("dataset", "sklearn", "flowers", "iris", "--seed", "2")
    assert (code, out) == (2, "")
    assert err.startswith("error: A dataset named 'flowers' exists already.")
    assert "Traceback" not in err
    assert Dataset.objects.get(name="flowers").version == version

    code, out, _ = run("dataset", "sklearn", "flowers", "iris", "--seed", "2", "--replace")
    assert code == 0 and out.startswith("replaced dataset 'flowers'")
    assert Dataset.objects.get(name="flowers").version != version


def test_dataset_import_csv_with_options(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "pets.csv"
    rows = ["weight,height,kind"] + [f"{i},{i * 2},{'cat' if i % 2 else 'dog'}" for i in range(20)]
    path.write_text("\n".join(rows) + "\n")
    code, out, _ = run(
        "dataset", "import-csv", "pets", str(path), "--label-column", "kind",
        "--fractions", "0.4,0.3,0.3", "--seed", "3",
    )  # fmt: skip
    assert code == 0
    dataset = Dataset.objects.get(name="pets")
    assert dataset.feature_names == ["weight", "height"] and dataset.class_labels == ["cat", "dog"]
    assert dataset.source == "CSV file pets.csv"
    assert load_points(dataset).count("training") == 8
    assert "created dataset 'pets'" in out and "training 8, test 6, validation 6" in out


def test_dataset_import_csv_error_names_line_and_column_and_stores_nothing(
    run: Run, tmp_path: Path
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("x,y,label\n1,2,a\n3,oops,b\n")
    code, out, err = run("dataset", "import-csv", "bad", str(path))
    assert (code, out) == (2, "")
    assert "Line 3, column 'y': 'oops' is not a number." in err
    assert "  y: line 3: not a number" in err
    assert not Dataset.objects.filter(name="bad").exists()


def test_dataset_list_shows_every_dataset(run: Run) -> None:
    assert run("dataset", "list")[1] == "no datasets yet\n"
    run("dataset", "generate", "xor", "xor", "--points", "40")
    run("dataset", "sklearn", "wine", "wine")
    code, out, _ = run("dataset", "list")
    lines = out.splitlines()
    assert code == 0 and lines[0].split()[:3] == ["id", "name", "points"]
    wine = Dataset.objects.get(name="wine")
    assert any(line.split()[:3] == [str(wine.pk), "wine", "178"] for line in lines)
    assert any(" xor " in line and " 40 " in line for line in lines)


def test_bad_arguments_are_refused_by_the_parser(run: Run) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["dataset", "sklearn", "x", "titanic"])
    assert caught.value.code == 2
    with pytest.raises(SystemExit):
        main(["dataset", "generate", "x", "moons", "--fractions", "0.5,0.5"])


# --- group -----------------------------------------------------------------------------------


def test_group_add_public_and_private(run: Run) -> None:
    assert run("group", "add", "Red Team") == (0, "created group 'Red Team' (public)\n", "")
    code, out, _ = run("group", "add", "Blue", "--private")
    blue = Group.objects.get(name="Blue")
    assert code == 0 and not blue.public
    assert out == f"created group 'Blue' (private, invite code {blue.invite_code})\n"
    assert blue.created_by is not None and blue.created_by.username == cli_base.CLI_USERNAME

    code, _, err = run("group", "add", "Blue")
    assert code == 2 and "exists already" in err and Group.objects.count() == 2
    code, _, err = run("group", "add", "A+B")
    assert code == 2 and "group_name:" in err and not Group.objects.filter(name="A+B").exists()


def test_group_list_shows_invite_codes_and_members(run: Run, contest: Contest) -> None:
    code, out, _ = run("group", "list")
    lines = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert code == 0 and set(lines) == {"Alpha", "Beta"}
    assert contest.beta.invite_code in lines["Beta"] and "private" in lines["Beta"]
    assert lines["Alpha"].split()[-1] == "alice"


def test_group_add_member_puts_a_student_in_a_private_group(run: Run, contest: Contest) -> None:
    code, out, _ = run("group", "add-member", "Beta", "alice")
    assert (code, out) == (0, "added alice to group 'Beta' (left 'Alpha')\n")
    assert group_name_of("alice") == "Beta"
    assert run("group", "add-member", "Beta", "alice")[1] == "alice is in group 'Beta' already\n"

    code, _, err = run("group", "add-member", "Beta", "nobody")
    assert code == 2 and "No user named 'nobody'" in err
    code, _, err = run("group", "add-member", "Gamma", "carol")
    assert code == 2 and "No group named 'Gamma'" in err and group_name_of("carol") is None


# --- user ------------------------------------------------------------------------------------


def test_user_add_with_a_password_role_group_and_email(run: Run) -> None:
    code, out, _ = run(
        "user", "add", "dora", "--password", "s3cret", "--role", "worker",
        "--group", "Night Shift", "--email", "dora@example.org",
    )  # fmt: skip
    assert code == 0
    assert out.splitlines() == [
        "created group 'Night Shift' (public)",
        "created user dora (worker) in group 'Night Shift'",
    ]
    dora = User.objects.get(username="dora")
    assert dora.check_password("s3cret") and dora.role == Role.WORKER
    assert dora.email == "dora@example.org" and group_name_of("dora") == "Night Shift"


def test_user_add_without_a_password_prints_a_generated_one(run: Run) -> None:
    code, out, _ = run("user", "add", "eve")
    assert code == 0 and out.startswith("created user eve (student), password ")
    password = out.strip().rsplit(" ", 1)[1]
    eve = User.objects.get(username="eve")
    assert eve.check_password(password) and not eve.check_password("")


def test_user_add_again_updates_and_keeps_the_password(run: Run, tmp_path: Path) -> None:
    run("user", "add", "finn", "--password", "one")
    code, out, _ = run("user", "add", "finn", "--role", "organizer")
    finn = User.objects.get(username="finn")
    assert (code, out) == (0, "updated user finn: role organizer\n")
    assert finn.role == Role.ORGANIZER and finn.check_password("one")

    secret = tmp_path / "password.txt"
    secret.write_text("two\n")
    assert run("user", "add", "finn", "--password-file", str(secret))[1] == (
        "updated user finn: password\n"
    )
    assert User.objects.get(username="finn").check_password("two")
    assert run("user", "add", "finn", "--password", "two")[1] == "unchanged user finn\n"


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["bad name!", "--password", "x"], "username"),
        (["gus", "--password", "x", "--email", "not-an-email"], "email"),
        (["gus", "--password", "x", "--group", "a/b"], "group"),
        ([cli_base.CLI_USERNAME, "--password", "x"], "username"),
    ],
)
def test_user_add_refuses_bad_input_and_changes_nothing(
    run: Run, argv: list[str], field: str
) -> None:
    users_before = User.objects.count()
    code, out, err = run("user", "add", *argv)
    assert (code, out) == (2, "")
    assert err.startswith("error: ") and f"\n  {field}: " in err
    assert User.objects.count() == users_before and not Group.objects.exists()


def test_user_token_prints_a_key_that_belongs_to_the_user(run: Run, contest: Contest) -> None:
    code, out, _ = run("user", "token", "walter", "--name", "lab-pc-3")
    token = ApiToken.objects.get(user=contest.walter)
    key = out.strip()
    assert (code, out) == (0, f"{key}\n")
    # The key is printed once; the database keeps only its hash and its first characters.
    assert token.key_hash == hash_token_key(key) != key and key.startswith(token.prefix)
    assert len(token.prefix) == 8 and ApiToken.find(key) == token
    assert token.name == "lab-pc-3"
    code, _, err = run("user", "token", "nobody")
    assert code == 2 and "No user named 'nobody'" in err and ApiToken.objects.count() == 1


def test_user_list_shows_roles_groups_and_tokens(run: Run, contest: Contest) -> None:
    run("user", "token", "walter")
    code, out, _ = run("user", "list")
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert code == 0 and {"alice", "bob", "carol", "walter", "olga"} <= set(rows)
    assert rows["alice"][:3] == ["alice", "student", "Alpha"]
    assert rows["walter"][1] == "worker" and rows["walter"][-1] == "1"
    assert rows["carol"][2] == "-"


# --- roster ----------------------------------------------------------------------------------

ROSTER = """username,password,role,group,email,student number
ana,pw-ana,,Grüne Gruppe,ana@example.org,1001
ben,pw-ben,student,Grüne Gruppe,,1002
cem,pw-cem,worker,,,1003
"""


def write(tmp_path: Path, text: str, name: str = "roster.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_roster_import_creates_users_and_groups(run: Run, tmp_path: Path) -> None:
    code, out, _ = run("user", "import-roster", str(write(tmp_path, ROSTER)))
    assert code == 0
    assert out.splitlines() == [
        "roster: columns left out: student number",
        "created group 'Grüne Gruppe' (public)",
        "created user ana (student) in group 'Grüne Gruppe'",
        "created user ben (student) in group 'Grüne Gruppe'",
        "created user cem (worker)",
        "roster roster.csv: 3 created, 0 updated, 0 unchanged",
    ]
    ana = User.objects.get(username="ana")
    assert ana.check_password("pw-ana") and ana.email == "ana@example.org"
    # The new users' passwords are hashed in parallel: each row keeps its own.
    for name in ("ana", "ben", "cem"):
        assert User.objects.get(username=name).check_password(f"pw-{name}"), name
    assert not User.objects.get(username="ben").check_password("pw-ana")
    assert User.objects.get(username="cem").role == Role.WORKER
    assert Group.objects.get(name="Grüne Gruppe").public
    assert sorted(Membership.objects.values_list("user__username", flat=True)) == ["ana", "ben"]


def test_roster_import_again_updates_instead_of_failing(run: Run, tmp_path: Path) -> None:
    run("user", "import-roster", str(write(tmp_path, ROSTER)))
    code, out, _ = run("user", "import-roster", str(write(tmp_path, ROSTER)))
    assert (
        code == 0 and out.splitlines()[-1] == "roster roster.csv: 0 created, 0 updated, 3 unchanged"
    )
    assert User.objects.filter(username__in=["ana", "ben", "cem"]).count() == 3

    changed = ROSTER.replace("ben,pw-ben,student,Grüne Gruppe", "ben,new-pw,organizer,Blau")
    code, out, _ = run("user", "import-roster", str(write(tmp_path, changed)))
    assert code == 0
    assert "updated user ben: role organizer, password, group 'Blau'" in out.splitlines()
    ben = User.objects.get(username="ben")
    assert ben.role == Role.ORGANIZER and ben.check_password("new-pw")
    assert group_name_of("ben") == "Blau" and Group.objects.count() == 2


def test_roster_accepts_semicolons_and_existing_users_without_password(
    run: Run, contest: Contest, tmp_path: Path
) -> None:
    roster = "Username;Password;Group\ncarol;;Beta\n"
    code, out, _ = run("user", "import-roster", str(write(tmp_path, roster)))
    assert code == 0 and "updated user carol: group 'Beta'" in out
    assert group_name_of("carol") == "Beta"
    assert User.objects.get(username="carol").check_password("pw")


@pytest.mark.parametrize(
    ("roster", "words"),
    [
        ("username,role\nana,student\n", ["needs the columns username, password", "password"]),
        ("username,password,role\nok,pw,student\nana,pw,boss\n", ["Line 3", "Unknown role"]),
        ("username,password\nok,pw\nana,\n", ["Line 3", "needs a password"]),
        ("username,password\nok,pw\nok,pw2\n", ["Line 3", "appears already on line 2"]),
        ("username,password\nok,pw\n,pw\n", ["Line 3", "username is empty"]),
        ("username,password,email\nok,pw,\nana,pw,nope\n", ["Line 3", "'nope'"]),
        ("username,password,group\nok,pw,A\nana,pw,A+B\n", ["Line 3", "'+'"]),
        ("", ["roster is empty"]),
    ],
)
def test_a_bad_roster_changes_nothing(
    run: Run, tmp_path: Path, roster: str, words: list[str]
) -> None:
    code, out, err = run("user", "import-roster", str(write(tmp_path, roster)))
    assert (code, out) == (2, "")
    for word in words:
        assert word in err
    assert not User.objects.exclude(username=cli_base.CLI_USERNAME).exists()
    assert not Group.objects.exists()


def test_missing_roster_file_is_a_clear_error(run: Run, tmp_path: Path) -> None:
    code, _, err = run("user", "import-roster", str(tmp_path / "nope.csv"))
    assert code == 2 and err.startswith("error: Cannot read") and "Traceback" not in err


# --- round -----------------------------------------------------------------------------------


def test_round_create_stores_every_setting(run: Run, contest: Contest) -> None:
    code, out, _ = run(
        "round", "create", "Week 2", "--dataset", "tiny", "--metric", "f1_macro",
        "--algorithms", "knn,svm", "--quota", "7", "--queued-quota", "2",
        "--starts", "2031-05-01T10:00", "--ends", "2031-05-01T14:00+02:00",
        "--time-limit", "30", "--memory-limit", "512",
    )  # fmt: skip
    round_ = Round.objects.get(name="Week 2")
    assert code == 0
    assert out == (
        f"created round {round_.pk} 'Week 2' on dataset 'tiny': f1_macro, quota 7 (2 queued), "
        "algorithms knn, svm; draft\n"
    )
    assert (round_.metric, round_.allowed_algorithms) == ("f1_macro", ["knn", "svm"])
    assert (round_.job_quota, round_.queued_quota) == (7, 2)
    assert (round_.time_limit_seconds, round_.memory_limit_mb) == (30, 512)
    assert round_.starts_at == timezone.make_aware(datetime(2031, 5, 1, 10, 0))
    assert round_.ends_at == datetime.fromisoformat("2031-05-01T14:00+02:00")
    assert round_.state == RoundState.DRAFT


def test_round_create_open_and_close(run: Run, contest: Contest) -> None:
    code, out, _ = run(
        "round", "create", "Live", "--dataset", "tiny", "--metric", "accuracy", "--open"
    )
    round_ = Round.objects.get(name="Live")
    assert code == 0 and out.splitlines()[-1] == f"opened round {round_.pk} 'Live'"
    assert round_.state == RoundState.OPEN
    event = RoundEvent.objects.get(round=round_, action="opened")
    assert event.by is not None
    assert event.by.username == cli_base.CLI_USERNAME

    assert run("round", "close", str(round_.pk))[1] == f"closed round {round_.pk} 'Live'\n"
    round_.refresh_from_db()
    assert round_.state == RoundState.CLOSED
    assert run("round", "close", str(round_.pk))[1].endswith("is closed already\n")
    assert run("round", "open", str(round_.pk))[1] == f"opened round {round_.pk} 'Live'\n"
    round_.refresh_from_db()
    assert round_.state == RoundState.OPEN
    actions = list(round_.events.values_list("action", flat=True))
    assert actions[-3:] == ["opened", "closed", "reopened"]


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--dataset", "nope", "--metric", "accuracy"], ["No dataset named 'nope'"]),
        (["--dataset", "tiny", "--metric", "nmi", "--algorithms", "knn"], ["allowed_algorithms"]),
        (["--dataset", "tiny", "--metric", "accuracy", "--quota", "0"], ["job_quota"]),
        (
            ["--dataset", "tiny", "--metric", "accuracy", "--starts", "2031-01-02", "--ends",
             "2031-01-01"],
            ["ends_at: must be after the start"],
        ),
    ],
)  # fmt: skip
def test_round_create_errors(run: Run, contest: Contest, argv: list[str], words: list[str]) -> None:
    rounds_before = Round.objects.count()
    code, out, err = run("round", "create", "Bad", *argv)
    assert (code, out) == (2, "")
    for word in words:
        assert word in err
    assert Round.objects.count() == rounds_before


def test_round_close_of_a_draft_and_of_an_unknown_round(run: Run, contest: Contest) -> None:
    run("round", "create", "Draft", "--dataset", "tiny", "--metric", "accuracy")
    draft = Round.objects.get(name="Draft")
    code, _, err = run("round", "close", str(draft.pk))
    assert code == 2 and "open it first" in err
    draft.refresh_from_db()
    assert draft.state == RoundState.DRAFT
    assert run("round", "open", "9999")[0] == 2


def test_round_list(run: Run, contest: Contest) -> None:
    code, out, _ = run("round", "list")
    header, *rows = out.splitlines()
    assert code == 0 and header.split()[:3] == ["id", "state", "name"]
    assert rows[0].split()[:5] == [str(contest.round.pk), "open", "Round", "1", "tiny"]


def test_the_cli_account_is_an_organizer_that_cannot_sign_in(run: Run) -> None:
    run("group", "add", "Solo")
    account = User.objects.get(username=cli_base.CLI_USERNAME)
    assert account.is_organizer and not account.has_usable_password()


def test_a_database_that_cannot_be_used_is_reported_without_a_traceback(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    def locked() -> None:
        raise OperationalError("database is locked")

    monkeypatch.setattr(cli_base, "prepare_database", locked)
    code, out, err = run("group", "add", "Late")
    assert (code, out) == (2, "")
    assert err == "error: the database cannot be used: database is locked\n"
    assert not Group.objects.exists()


# --- the real console script -----------------------------------------------------------------


def test_console_script_imports_a_roster_into_a_fresh_data_folder(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "mlcontest"
    assert script.exists(), "install the project (pip install -e .) to get the console script"
    data_dir = tmp_path / "data"
    env = {**os.environ, "MLCONTEST_DATA_DIR": str(data_dir)}
    env.pop("DATABASE_URL", None)
    roster = write(tmp_path, "username,password,role,group\nzoe,zoe-pw,,Owls\nyan,yan-pw,worker,\n")

    def mlcontest(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(script), *argv], env=env, capture_output=True, text=True, timeout=300
        )

    first = mlcontest("user", "import-roster", str(roster))
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [
        "created group 'Owls' (public)",
        "created user zoe (student) in group 'Owls'",
        "created user yan (worker)",
        "roster roster.csv: 2 created, 0 updated, 0 unchanged",
    ]
    again = mlcontest("user", "import-roster", str(roster))
    assert again.returncode == 0 and "0 created, 0 updated, 2 unchanged" in again.stdout

    with sqlite3.connect(data_dir / "mlcontest.sqlite3") as db:
        users = dict(db.execute("SELECT username, role FROM contest_user"))
        hashes = dict(db.execute("SELECT username, password FROM contest_user"))
        members = db.execute(
            "SELECT u.username, g.name, g.public FROM contest_membership m "
            "JOIN contest_user u ON u.id = m.user_id JOIN contest_group g ON g.id = m.group_id"
        ).fetchall()
    assert users == {"zoe": "student", "yan": "worker", cli_base.CLI_USERNAME: "organizer"}
    assert check_password("zoe-pw", hashes["zoe"]) and check_password("yan-pw", hashes["yan"])
    assert members == [("zoe", "Owls", 1)]

    failed = mlcontest("round", "open", "1")
    assert failed.returncode == 2 and failed.stderr == "error: No round 1.\n"
