"""Helpers shared by the test modules, one module per domain; their fixtures are registered in conftest.py.

Test modules import helpers from here, never from another test module or from conftest."""
