from biogans.cli import main

raise SystemExit(main())
