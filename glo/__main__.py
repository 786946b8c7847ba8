from glo.cli.app import entry

entry()
