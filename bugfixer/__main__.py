from bugfixer.cli import main

main()
