"""Background workers (QThreadPool runnables): heavy work never runs on the GUI thread."""
