"""`python -m scaleboard sync`: uploads what runs spooled while the server was unreachable."""

import argparse
import os
import sys

from ._http import Transport
from ._spool import default_directory, sync_directory
from ._version import __version__


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m scaleboard", description="Scaleboard's Python client")
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", required=True)
    sync = commands.add_parser("sync", help="upload spooled runs (safe to repeat: nothing is stored twice)")
    sync.add_argument("--dir", default=None, help="spool folder (default: $SCALEBOARD_SPOOL_DIR or %s)" % default_directory())
    sync.add_argument("--api-url", default=None, help="server (default: $SCALEBOARD_API_URL, else the URL the run used)")
    sync.add_argument("--api-key", default=None, help="API key (default: $SCALEBOARD_API_KEY)")
    args = parser.parse_args(argv)
    def transport_for(recorded_url):
        return Transport(args.api_url or os.environ.get("SCALEBOARD_API_URL") or recorded_url, args.api_key)

    uploaded, left = sync_directory(transport_for, args.dir)
    print("scaleboard: %d spool file(s) uploaded, %d left" % (uploaded, left))
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main())
