"""The anchor: pymc-marketing 1.3's multidimensional MMM on a benchmark world, in its own venv.

pymc-marketing 1.x needs Python 3.12 and PyMC 6, which cannot share clearcount's environment, so
:func:`fit_pymc_marketing` writes the world to a temporary ``.npz`` and runs ``PMM_SCRIPT`` with
the venv's Python (``PMM_VENV``, made on first use with ``uv venv`` on a Python 3.12, from
``$PMM_PYTHON``, pyenv's or a ``python3.12`` on the path, else one uv downloads, and
``uv pip install pymc-marketing==1.3.* nutpie``). It is given what clearcount's model is given:
spend per market and week, the controls, and the model's holiday indicator as one more control,
with ``dims=("geo",)``, its documented defaults (geometric adstock with ``l_max=8`` and logistic
saturation, as in its geo example; yearly seasonality with 3 Fourier pairs, as clearcount), four
chains with nutpie. PAC per channel = window spend / the posterior draws of its original-scale
channel contributions summed over markets and the window's weeks.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from models.calendar import holiday_weeks
from models.mmm.diagnostics import MAX_RHAT, MIN_ESS

PMM_VENV = Path(os.environ.get("PMM13_VENV", "/tmp/pmm13-venv"))
PMM_VERSION = "pymc-marketing==1.3.*"

PMM_SCRIPT = r"""
import json, sys, time, warnings
warnings.filterwarnings("ignore")
import numpy as np, pandas as pd
import arviz as az
from pymc_marketing.mmm import MMM, GeometricAdstock, LogisticSaturation

d = np.load(sys.argv[1], allow_pickle=False)
spend, y, controls = d["spend"], d["y"], d["controls"]
weeks, geos, channels = d["weeks"], list(d["geos"]), list(d["channels"])
control_names = list(d["control_names"])
window, draws, tune = int(d["window"]), int(d["draws"]), int(d["tune"])
rows = []
for g, geo in enumerate(geos):
    for w, wk in enumerate(weeks):
        row = {"date": pd.Timestamp(wk), "geo": geo, "y": float(y[g, w])}
        row.update({c: float(spend[g, w, i]) for i, c in enumerate(channels)})
        row.update({c: float(controls[g, w, k]) for k, c in enumerate(control_names)})
        rows.append(row)
df = pd.DataFrame(rows)
mmm = MMM(date_column="date", target_column="y", channel_columns=channels, dims=("geo",),
          control_columns=control_names or None, adstock=GeometricAdstock(l_max=8),
          saturation=LogisticSaturation(), yearly_seasonality=3)
t0 = time.perf_counter()
idata = mmm.fit(X=df.drop(columns="y"), y=df["y"], nuts_sampler="nutpie", chains=4, cores=2,
                draws=draws, tune=tune, random_seed=1, progressbar=False)
wall = time.perf_counter() - t0
contrib = idata["posterior"]["channel_contribution"] * idata["constant_data"]["target_scale"]
contrib = contrib.transpose("chain", "draw", "date", "geo", "channel")
c = contrib.values.reshape(-1, *contrib.shape[2:])  # (n_draws, n_weeks, n_geos, n_channels)
inc = c[:, -window:].sum(axis=(1, 2))
window_spend = spend[:, -window:].sum(axis=(0, 1))
pac = window_spend[None, :] / inc
posterior = idata["posterior"].to_dataset()
free = [v for v in ("saturation_beta", "saturation_lam", "adstock_alpha") if v in posterior]
summ = az.summary(posterior[free], kind="diagnostics")
out = {"wall": wall, "rhat": float(summ["r_hat"].max()), "ess": float(summ["ess_bulk"].min()),
       "divergences": int(idata["sample_stats"]["diverging"].values.sum()),
       "pac": {ch: [float(np.percentile(pac[:, i], q)) for q in (50, 5, 95)]
               for i, ch in enumerate(channels)}}
print("PMM_RESULT " + json.dumps(out))
"""


def ensure_venv() -> Path:
    """The venv's Python, creating the venv with uv when it is missing."""
    py = PMM_VENV / "bin" / "python"
    if not py.exists():
        uv = shutil.which("uv") or "uv"
        subprocess.run([uv, "venv", "-q", "-p", python_312(), str(PMM_VENV)], check=True)
        subprocess.run([uv, "pip", "install", "-q", "--python", str(py), PMM_VERSION, "nutpie"],
                       check=True)  # fmt: skip
    return py


def python_312() -> str:
    """A local Python 3.12 for the venv (uv would download one, which needs the network)."""
    pyenv = sorted(Path.home().glob(".pyenv/versions/3.12*/bin/python3.12"))  # not its shims
    found = os.environ.get("PMM_PYTHON") or (str(pyenv[-1]) if pyenv else None)
    return found or shutil.which("python3.12") or "3.12"


def fit_pymc_marketing(world, draws: int = 1000, tune: int = 1000) -> dict:
    """Fit pymc-marketing 1.3 to ``world.panel``; returns ``{"pac": {channel: (median, 5%,
    95%)}, "wall", "rhat", "ess", "divergences", "converged"}`` or ``{"error": text}``.
    Convergence is judged on its channel parameters by clearcount's own thresholds."""
    py = ensure_venv()
    p = world.panel
    controls = np.concatenate(
        [p.controls, holiday_weeks(p.weeks).astype(float)[None, :, None].repeat(p.n_geos, 0)],
        axis=2,
    )
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "world.npz"
        np.savez(
            data,
            spend=p.spend,
            y=p.new_patients,
            controls=controls,
            control_names=np.array([*p.control_names, "holiday"]),
            weeks=p.weeks.astype("datetime64[D]").astype(str),
            geos=np.array(p.geos),
            channels=np.array(p.channels),
            window=_window_weeks(world),
            draws=draws,
            tune=tune,
        )
        script = Path(tmp) / "pmm.py"
        script.write_text(PMM_SCRIPT)
        t0 = time.perf_counter()
        res = subprocess.run(
            [str(py), str(script), str(data)],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
        wall = time.perf_counter() - t0
    line = [x for x in res.stdout.splitlines() if x.startswith("PMM_RESULT ")]
    if not line:
        return {"error": f"failed after {wall:.0f} s: {res.stderr[-2000:]}"}
    out = json.loads(line[0][len("PMM_RESULT ") :])
    out["pac"] = {ch: tuple(v) for ch, v in out["pac"].items()}
    out["converged"] = out["rhat"] <= MAX_RHAT and out["ess"] >= MIN_ESS and out["divergences"] == 0
    out["wall_with_imports"] = wall
    return out


def _window_weeks(world) -> int:
    window = world.truth["window"]
    weeks = world.panel.weeks.astype("datetime64[D]")
    return int(
        ((weeks >= np.datetime64(window["start"])) & (weeks <= np.datetime64(window["end"]))).sum()
    )
