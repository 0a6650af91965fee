from preview.cli import run

run()
