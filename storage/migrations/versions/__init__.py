"""Migration revisions (a package so they ship with an installed helpline)."""
