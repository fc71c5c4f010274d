from wfmcli.cli.main import run

run()
