"""Dock panels: each one views or edits one piece of state and lives in its own module."""
