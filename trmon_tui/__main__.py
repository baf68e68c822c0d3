from trmon_tui.cli import main

raise SystemExit(main())
