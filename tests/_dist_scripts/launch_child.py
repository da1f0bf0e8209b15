"""Child of idrak.distributed.launch in the tests: writes its rendezvous environment to
OUT/RANK.txt; with ``fail`` rank 1 exits with status 3 and the others wait 60 s."""

import os
import sys
import time

out, mode = sys.argv[1], sys.argv[2]
keys = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
with open(os.path.join(out, os.environ["RANK"] + ".txt"), "w") as f:
    f.write(" ".join(os.environ[k] for k in keys))
if mode == "fail":
    if os.environ["RANK"] == "1":
        sys.exit(3)
    time.sleep(60)
