"""Dialogs: standalone windows the main window opens (export, ...); each only gathers choices and runs core work in a worker."""
