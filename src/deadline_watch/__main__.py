from deadline_watch.cli import run

run()
