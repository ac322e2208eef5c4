"""智慧批: services decided by rules kept as data (GoRules decision graphs), never by code paths.

:mod:`kiosk.decisions.rules` loads a decision file and decides one submission; :mod:`kiosk.decisions.datasets`
reads the reference data sets (household extract, allowance register …) a rule looks people up in.
"""
