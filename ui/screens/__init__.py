"""The screens of the main window's stack; each has ``retranslate(language)`` and ``clear_personal_data``."""
