"""Generate a larger "independent" cohort of single-resident homes, made the same way
as lifesign's evaluation cohort (shared/eval/independent, seed 4242), with other seeds.

Run in a virtual environment of its own (README.md beside this file: the models need the
old numpy and pandas pinned in requirements.txt, which lifesign's own environment does not have):

    python3.11 -m venv /tmp/crest && /tmp/crest/bin/pip install -r requirements.txt
    /tmp/crest/bin/python make_cohort.py --homes 200 --seed 7001 --out out

writes out/independent/plan.json and out/independent/{A,B}/ with households.csv,
meters.csv, readings.parquet, ground_truth.csv, truth_meta.csv. Then
`/tmp/crest/bin/python compare.py EVAL_DIR OUT/independent` prints the side-by-side check
against the evaluation cohort.

Steps
1. Cohort draws (numpy Generator seeded with [seed, 0]): tiers in the eval's
   proportions (50 % green, 35 % yellow, 15 % red, shuffled), ages 65-95, register
   start values (water 40-900 m3 at 1 L, electricity 1000-50000 kWh at 0.01 kWh),
   incidents: round(30 %) of homes, each on a uniformly drawn 0-based day index 30..59
   (the plan.json convention of the eval: day 30 = first test day, 2026-10-16 local) at
   a uniform second of the local day; exactly half of them keep a 60 W light on.
2. Per home (Python `random` and legacy `numpy.random` both seeded with
   seed*100000+home, which is what richardsonpy and pysimdeum draw from):
   a. richardsonpy 0.2.3 Occupancy(1 occupant, initial_day = weekday of 2026-09-16,
      60 days): active occupants (0/1) per 10 min. 0 = asleep or out.
   b. richardsonpy Appliances(Appliances.csv, annual 0.91*1500 kWh = what ElectricLoad
      uses for 1 occupant in a multi-family house (is_sfh=False; 91 % appliances, 9 %
      lighting), randomize_appliances=True -> the model's own ownership
      draw, heating devices allowed as by default) and a lighting configuration drawn
      from the model's 100 LightBulbs.csv configurations.
   c. Day by day: lighting_model.run_lighting_simulation and
      appliance.run_application_simulation (exactly what the model's ElectricityProfile.
      power_sim does, but keeping the 33 appliance rows apart) at 1 min, with the
      weekday/weekend activity statistics of that day, the calendar month of that day,
      and the TRY2010_05 irradiance of the same calendar day (hourly, interpolated to
      1 min; local clock hour taken as the TRY hour).
   d. Water, pysimdeum 1.0.1: a 'one_person' House whose single User is age='senior'
      (job=False, gender from the one_person preset), furnished with the preset's
      end-use penetrations for 1 inhabitant. Each day, the user's presence density
      (what pysimdeum samples every event start from, multiplied by the end use's own
      diurnal pattern for kitchen tap / washing machine / dishwasher) is REPLACED by the
      richardsonpy active mask of that day (uniform over the seconds with >=1 active
      occupant, 0 when asleep or out). Frequencies, durations and intensities are
      pysimdeum's senior/one-person draws; every event therefore starts while the
      resident is at home and awake. A day without any active second has no water.
      Flows (L/s per second) spilling past midnight are carried into the next day.
   e. Incident (if any) at time T: the active mask is 0 from T on (no water event can
      start), and any water after T (a tail of an earlier event) is cut: water stops.
      Electricity after T: lighting 0, every appliance that needs the resident
      (activity profiles 0-6) at its standby power, appliances the model runs by itself
      (profile 7 LEVEL = cold appliances and clock, 8 = storage heater) as simulated;
      plus 60 W if light_on.
   f. Variant A = total of (c)/(e). Variant B = the same minus the model's cold
      appliances (rows 0-3) plus one plain 100 W fridge: duty ~ U(0.30, 0.40) per home,
      each on/off cycle length ~ U(30, 90) min with on-time = duty * length, random
      phase, running across all 60 days (and after incidents).
   g. Registers: minute energy is integrated, sampled every 15 min (00:00 local
      start, 5761 readings), electricity = start + floor(kWh*100)/100, water =
      start + floor(litres)/1000 m3.
3. Homes are simulated by the main process and one worker process (2 cores in all).
4. Writes the files in the eval formats (readings sorted by ts, then meter).
"""
import argparse
import datetime as dt
import json
import math
import multiprocessing as mp
import os
import queue
import random
import sys
import time
import warnings

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")

START_EPOCH = 1789488000          # 2026-09-16 00:00 +08:00
TEST_START_EPOCH = 1792080000     # 2026-10-16 00:00 +08:00
DAYS = 60
TEST_DAYS = 30
START_DATE = dt.date(2026, 9, 16)
TZ = dt.timezone(dt.timedelta(hours=8))
STEP = 900
NSTEP = DAYS * 96
ANNUAL_KWH = 1500                 # richardsonpy ElectricLoad standard_consumption["MFH"][1] (is_sfh=False): an apartment
COLD_ROWS = (0, 1, 2, 3)          # chest freezer, fridge freezer, refrigerator, upright freezer

_RP = {}


def _richardson_inputs():
    """Load richardsonpy's bundled inputs once per process."""
    if not _RP:
        import richardsonpy.classes.electric_load as eload
        import richardsonpy.classes.stochastic_el_load_wrapper as wrapper
        import richardsonpy.functions.load_radiation as loadrad
        src = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(eload.__file__))), "inputs")
        qd, qf = loadrad.get_rad_from_try_path()
        _RP["app_csv"] = os.path.join(src, "Appliances.csv")
        _RP["light_csv"] = os.path.join(src, "LightBulbs.csv")
        _RP["irr_hourly"] = np.asarray(qd + qf, dtype=float)  # 8760 h, W/m2
        wrapper.ElectricityProfile(None, None)  # loads the activity statistics (class cache)
        _RP["act"] = wrapper.ElectricityProfile.activity_statistics
        from pysimdeum.core.statistics import Statistics
        _RP["stats"] = Statistics()
    return _RP


def _irradiance_day(doy0):
    """1-min irradiance of 0-based day of year doy0 from the hourly TRY series."""
    irr = _RP["irr_hourly"]
    h = np.arange(25) * 3600
    vals = irr[(doy0 * 24 + np.arange(25)) % len(irr)]
    return np.interp(np.arange(1440) * 60, h, vals)


def _fridge_minutes(rng, n_min):
    """Plain 100 W fridge: duty U(.30,.40), cycles U(30,90) min, random phase."""
    duty = rng.uniform(0.30, 0.40)
    out = np.zeros(n_min + 200)
    t = -int(rng.integers(0, 90))
    while t < n_min:
        length = rng.uniform(30, 90)
        on = round(duty * length)
        a = max(t, 0)
        b = max(t + on, 0)
        out[a:b] = 100.0
        t += round(length)
    return out[:n_min], duty


def simulate_home(args):
    """Simulate one home. Returns registers for A and B electricity and water."""
    h, seed, inc, e_start_c, w_start_l = args
    rp = _richardson_inputs()
    import richardsonpy.classes.appliance as app_model
    import richardsonpy.classes.lighting as light_model
    import richardsonpy.classes.occupancy as occ
    from pysimdeum.core.house import Property
    from pysimdeum.core.user import User
    from pysimdeum.core.utils import chooser, normalize

    hs = seed * 100000 + h
    random.seed(hs)
    np.random.seed(hs % (2 ** 32))
    init_day = START_DATE.isoweekday()

    # a. occupancy
    o = occ.Occupancy(number_occupants=1, initial_day=init_day, nb_days=DAYS)
    occd = np.asarray(o.occupancy, dtype=int).reshape(DAYS, 144)

    # b. appliances and lights
    apps = app_model.Appliances(rp["app_csv"], annual_consumption=0.91 * ANNUAL_KWH,
                                randomize_appliances=True, prev_heat_dev=False)
    light_cfg = random.randrange(100)
    bulbs = light_model.load_lighting_profile(filename=rp["light_csv"], index=light_cfg)
    lcfg = light_model.LightingModelConfiguration()
    owned = np.array([a[0] for a in apps.data]) > 0
    profile = np.array([a[8] for a in apps.data])
    standby = np.array([a[5] for a in apps.data]) * owned
    by_itself = (profile >= 7)

    # incident minute (absolute minute index) or None
    inc_min = None
    if inc is not None:
        inc_min = int(inc["day"] * 1440 + math.floor(inc["second_of_day"] / 60.0))

    n_min = DAYS * 1440
    p_other = np.zeros(n_min)   # lights + non-cold appliances
    p_cold = np.zeros(n_min)    # model's cold appliances (rows 0-3)
    for d in range(DAYS):
        date = START_DATE + dt.timedelta(days=d)
        weekend = (d + init_day) % 7 in (0, 6)
        irr = _irradiance_day(date.timetuple().tm_yday - 1)
        od = occd[d]
        L = np.sum(light_model.run_lighting_simulation(od, bulbs, irr, lcfg), axis=0)
        A = np.asarray(app_model.run_application_simulation(
            od, apps, rp["act"]["we" if weekend else "wd"], date.month), dtype=float)
        sl = slice(d * 1440, (d + 1) * 1440)
        if inc_min is not None and inc_min < (d + 1) * 1440:
            k = max(inc_min - d * 1440, 0)
            L = np.array(L, dtype=float)
            L[k:] = 60.0 if inc["light_on"] else 0.0
            for i in range(33):
                if not by_itself[i]:
                    A[i, k:] = standby[i]
        p_cold[sl] = A[list(COLD_ROWS)].sum(axis=0)
        other_rows = [i for i in range(33) if i not in COLD_ROWS]
        p_other[sl] = A[other_rows].sum(axis=0) + L

    # c/d. water with pysimdeum, driven by the same occupancy
    stats = rp["stats"]
    house = Property(statistics=stats).built_house(house_type="one_person")
    gender = chooser(data=normalize(pd.Series(stats.household["one_person"]["division_gender"])))
    user = User(id="user_1", age="senior", gender=gender, job=False)
    house.users = [user]
    house.furnish_house()
    n_eu = len(house.appliances)
    tindex = pd.timedelta_range(start="00:00:00", periods=86400, freq="1s")
    flow = np.zeros(n_min * 60 + 86400)          # L/s per second, with spill room
    for d in range(DAYS):
        mask = np.repeat(occd[d] > 0, 600).astype(float)
        if inc_min is not None and inc_min < (d + 1) * 1440:
            k = int(inc["day"] * 86400 + inc["second_of_day"]) - d * 86400
            mask[max(k, 0):] = 0.0
        if mask.sum() == 0:
            continue
        user.presence = pd.Series(mask / mask.sum(), index=tindex)
        cons = np.zeros((86400 + 4 * 3600, 2, n_eu, 1, 2))
        for k_eu, appliance in enumerate(house.appliances):
            cons = appliance.simulate(cons, users=house.users, ind_enduse=k_eu,
                                      pattern_num=0, day_num=0)
        f = cons[:, :, :, 0, 0].sum(axis=(1, 2))
        flow[d * 86400: d * 86400 + len(f)] += f
    flow = flow[: n_min * 60]
    if inc is not None:
        flow[int(inc["day"] * 86400 + inc["second_of_day"]):] = 0.0
    appliance_names = [a.name for a in house.appliances]

    # f. variant B fridge
    frng = np.random.default_rng([seed, h, 2])
    fridge, duty = _fridge_minutes(frng, n_min)

    # g. registers
    def e_reg(p_w):
        wh = np.concatenate([[0.0], np.cumsum(p_w / 60.0)])[::15]  # Wh at each 15-min mark
        return (e_start_c + np.floor(wh / 10.0 + 1e-9)) / 100.0
    litres = np.concatenate([[0.0], np.cumsum(flow)])[::STEP]
    w_reg = (w_start_l + np.floor(litres + 1e-9)) / 1000.0
    eA = e_reg(p_other + p_cold)
    eB = e_reg(p_other + fridge)
    info = {"home": h, "light_config": light_cfg, "owned": [i for i in range(33) if owned[i]],
                "cold_owned": [i for i in COLD_ROWS if owned[i]], "fridge_duty": duty,
                "water_end_uses": appliance_names, "gender": gender,
                "active_share": float((occd > 0).mean()),
                "days_without_activity": int(((occd > 0).sum(1) == 0).sum())}
    return h, eA, eB, w_reg, info


def _worker(jobs, q):
    for j in jobs:
        q.put(simulate_home(j))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--homes", type=int, default=200)
    ap.add_argument("--seed", type=int, default=7001)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "out"))
    ap.add_argument("--procs", type=int, default=2, choices=(1, 2))
    a = ap.parse_args()
    if a.seed == 4242:
        sys.exit("seed 4242 is the evaluation cohort's seed; choose another")
    t0 = time.time()
    N, seed = a.homes, a.seed
    rng = np.random.default_rng([seed, 0])

    n_green = round(N * 20 / 40)
    n_yellow = round(N * 14 / 40)
    tiers = np.array(["green"] * n_green + ["yellow"] * n_yellow + ["red"] * (N - n_green - n_yellow))
    rng.shuffle(tiers)
    ages = rng.integers(65, 96, size=N)
    e_start_c = rng.integers(100000, 5000000, size=N)      # centi-kWh
    w_start_l = rng.integers(40000, 900000, size=N)        # litres
    n_inc = round(0.3 * N)
    inc_homes = sorted(rng.choice(np.arange(1, N + 1), size=n_inc, replace=False).tolist())
    light = np.array([True] * (n_inc // 2) + [False] * (n_inc - n_inc // 2))
    rng.shuffle(light)
    incidents = {}
    for k, hh in enumerate(inc_homes):
        day = int(rng.integers(TEST_DAYS, DAYS))          # 0-based day index 30..59
        sod = float(rng.uniform(0, 86400))
        incidents[hh] = {"day": day, "second_of_day": sod, "light_on": bool(light[k]),
                             "start_epoch": START_EPOCH + day * 86400 + sod}

    jobs = [(hh, seed, incidents.get(hh), int(e_start_c[hh - 1]), int(w_start_l[hh - 1]))
            for hh in range(1, N + 1)]
    results = {}
    if a.procs == 2 and N > 1:
        q = mp.Queue()
        p = mp.Process(target=_worker, args=(jobs[1::2], q), daemon=True)
        p.start()
        for j in jobs[0::2]:
            r = simulate_home(j)
            results[r[0]] = r
            print(f"home {r[0]} done {time.time() - t0:.0f}s", flush=True)
        while len(results) < N:
            try:
                r = q.get(timeout=60)
            except queue.Empty:
                if not p.is_alive():  # the worker died: say so rather than wait for ever
                    sys.exit(f"the worker process ended (exit code {p.exitcode}) with "
                             f"{N - len(results)} homes not simulated")
                continue
            results[r[0]] = r
        p.join()
    else:
        for j in jobs:
            r = simulate_home(j)
            results[r[0]] = r
            print(f"home {r[0]} done {time.time() - t0:.0f}s", flush=True)

    # write files
    root = os.path.join(a.out, "independent")
    ts = START_EPOCH + STEP * np.arange(NSTEP + 1, dtype=np.int64)
    hh_rows, m_rows, gt_rows, tm_rows = [], [], [], []
    for hh in range(1, N + 1):
        b = (hh - 1) // 10 + 1
        hid = f"H{hh:05d}"
        hh_rows.append({"household_id": hid, "community": "C1", "grid": f"G{(b - 1) // 4 + 1:02d}",
                            "building": f"B{b:03d}", "unit": 1, "room": 100 + (hh - 1) % 10 + 1,
                            "resident_name": f"Resident {hh}", "age": int(ages[hh - 1]),
                            "phone": f"+86 139 {hh // 10000:04d} {hh % 10000:04d}",
                            "emergency_contact": f"Family {hh} +86 138 {hh // 10000:04d} {hh % 10000:04d}",
                            "tier": tiers[hh - 1]})
        m_rows.append({"meter_id": f"W{hh:05d}", "household_id": hid, "utility": "water", "gateway_id": f"GW{b:03d}"})
        m_rows.append({"meter_id": f"E{hh:05d}", "household_id": hid, "utility": "electricity", "gateway_id": f"GW{b:03d}"})
        if hh in incidents:
            s = int(incidents[hh]["start_epoch"] // 60 * 60)
            iso = dt.datetime.fromtimestamp(s, TZ).isoformat()
            gt_rows.append({"category": "incident", "kind": "incapacitated", "household_id": hid,
                                "building": f"B{b:03d}", "meter_id": "", "start": s, "end": "", "start_iso": iso,
                                "end_iso": "", "magnitude": ""})
            tm_rows.append({"household_id": hid, "start": s, "start_iso": iso,
                                "light_on": incidents[hh]["light_on"], "tier": tiers[hh - 1]})
    for v, col in (("A", 1), ("B", 2)):
        d = os.path.join(root, v)
        os.makedirs(d, exist_ok=True)
        pd.DataFrame(hh_rows).to_csv(os.path.join(d, "households.csv"), index=False)
        pd.DataFrame(m_rows).to_csv(os.path.join(d, "meters.csv"), index=False)
        pd.DataFrame(gt_rows, columns=["category", "kind", "household_id", "building", "meter_id", "start",
                                       "end", "start_iso", "end_iso", "magnitude"]).to_csv(
            os.path.join(d, "ground_truth.csv"), index=False)
        pd.DataFrame(tm_rows, columns=["household_id", "start", "start_iso", "light_on", "tier"]).to_csv(
            os.path.join(d, "truth_meta.csv"), index=False)
        frames = []
        for hh in range(1, N + 1):
            r = results[hh]
            frames.append(pd.DataFrame({"meter": f"E{hh:05d}", "ts": ts, "value": r[col]}))
            frames.append(pd.DataFrame({"meter": f"W{hh:05d}", "ts": ts, "value": r[3]}))
        rd = pd.concat(frames, ignore_index=True)
        rd = rd.sort_values(["ts", "meter"], kind="stable").reset_index(drop=True)
        rd["meter"] = rd["meter"].astype(str)
        rd["ts"] = rd["ts"].astype("int64")
        rd["value"] = rd["value"].astype("float64")
        rd.to_parquet(os.path.join(d, "readings.parquet"), index=False)

    import importlib.metadata as md
    plan = {"richardsonpy": md.version("richardsonpy"), "pysimdeum": md.version("pysimdeum"),
            "numpy": np.__version__, "pandas": pd.__version__, "python": sys.version.split()[0],
            "seed": seed, "homes": N, "days": DAYS, "test_days": TEST_DAYS,
            "start_local": "2026-09-16T00:00:00+08:00", "end_local": "2026-11-15T00:00:00+08:00",
            "start_epoch": START_EPOCH, "test_start_epoch": TEST_START_EPOCH,
            "incidents": {str(k): v for k, v in incidents.items()}}
    with open(os.path.join(root, "plan.json"), "w") as f:
        json.dump(plan, f, indent=1)
    with open(os.path.join(root, "homes_info.json"), "w") as f:
        json.dump([results[hh][4] for hh in range(1, N + 1)], f, indent=0, default=float)
    print(f"wrote {root}: {N} homes, {len(incidents)} incidents "
          f"({sum(v['light_on'] for v in incidents.values())} light_on) in {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
