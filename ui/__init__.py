"""The kiosk's Qt front end: one main window, its screens, and the threads that keep the GUI responsive."""
