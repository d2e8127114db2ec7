"""Grading students' hand-ins.

``notebooks`` reads notebooks and notebook-exported scripts into modules that hold only definitions
(trusted side: it parses, never runs anything).
"""
