"""The contest domain: who plays, on what data, by which rules. No HTTP in here."""
