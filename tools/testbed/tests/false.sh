#!/bin/sh
# exits 3: checks that run-in-guest.sh propagates the script's status
echo "guest: uname $(uname -r), python3 $(python3 -c 'import sys; print(sys.version.split()[0])'), flock: $(command -v flock)"
exit 3
