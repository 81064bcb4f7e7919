from lightable.cli import main

raise SystemExit(main())
