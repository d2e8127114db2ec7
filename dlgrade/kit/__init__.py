"""The task kit: what every question is made of and what questions share.

Modules marked ``SANDBOX_SAFE = True`` import only the standard library, NumPy/Keras-side libraries and other
sandbox-safe modules; they are the minimal runtime copied into a student's sandbox (see
:mod:`dlgrade.autograde.bundle`). The others run only in the trusted process. This file imports nothing so
that a sandbox can hold a subset of the kit.
"""
