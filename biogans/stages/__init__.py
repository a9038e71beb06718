"""One module per ``biogans <stage>`` command: each registers its sub-command and holds only the
argument handling and the call into the library (imported when the command runs, so that
``biogans --help`` stays instant)."""
