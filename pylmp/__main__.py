from pylmp.cli import main

raise SystemExit(main())
