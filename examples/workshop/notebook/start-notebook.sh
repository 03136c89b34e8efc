#!/bin/sh
# The participant's Jupyter Notebook server (Debian python3-notebook).
#
# HOME is the participant's named volume: notebooks, ~/.jupyter and ~/.ipython survive
# container restarts and crashes. On first start a welcome notebook is copied in.
# The token comes from $JUPYTER_TOKEN (a generated secret), never from the command line,
# and jupyter_notebook_config.py keeps it out of the logs.
set -eu
mkdir -p "$HOME/work"
if [ ! -e "$HOME/work/welcome.ipynb" ]; then
  cp /opt/workshop/welcome.ipynb "$HOME/work/welcome.ipynb"
  echo "seeded $HOME/work/welcome.ipynb"
fi
cd "$HOME/work"
exec python3 -m notebook --config=/opt/workshop/jupyter_notebook_config.py \
  --notebook-dir="$HOME/work"
