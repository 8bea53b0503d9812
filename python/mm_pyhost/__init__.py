"""mm-pyhost, MIDIMonster's python backend run outside the core.

The Python side installed with it: ``mm_pyhost.testing``, which runs a show's modules in the
real host on a virtual clock for tests, and its pytest plugin (``mm_pyhost.pytest_plugin``).
"""
