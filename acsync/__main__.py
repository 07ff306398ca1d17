from acsync.cli import main

main()
