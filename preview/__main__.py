from preview.cli import main

main()
