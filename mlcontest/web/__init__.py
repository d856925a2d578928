"""The web pages: students' and organizers' pages, live parts and the projector view."""
