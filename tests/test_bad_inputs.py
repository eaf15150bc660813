"""Bad inputs named (issue 38): targets that are not numbers, labels given to a regressor, monotonic_cst
dicts behind a ColumnTransformer, and check_guarantee on the DataFrame the model was fitted on."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from skjacnet import InvertibleJacobianRegressor, JacobianClassifier, JacobianRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

FAST = dict(max_iter=3, hidden_layer_sizes=(8,), random_state=0)


@pytest.fixture
def X():
    return np.random.RandomState(0).uniform(-2, 2, (40, 2))


@pytest.mark.parametrize(
    "y, found",
    [
        (np.array([1.0, None] * 20, dtype=object), "None"),
        (np.array([1.5, None, 2.0, 3.0] * 10, dtype=object).reshape(-1, 1), "None"),
        (np.array(["a", "b"] * 20), "strings"),
        (np.array(["1.5", "2"] * 20), "strings"),
        (np.array([1.0, "x"] * 20, dtype=object), "strings"),
        (pd.Series(["a", "b"] * 20, dtype="category"), "strings"),
    ],
)
@pytest.mark.parametrize("Est", [JacobianRegressor, InvertibleJacobianRegressor])
def test_non_numeric_targets_are_refused_with_what_was_found(Est, X, y, found):
    X = X[:, :1] if Est is InvertibleJacobianRegressor else X
    with pytest.raises(ValueError, match=found) as info:
        Est(**FAST).fit(X, y)
    message = str(info.value)
    assert "y" in message and ("JacobianClassifier" in message or "drop" in message.lower())


def test_none_is_refused_with_observed_jacobians_too(X):
    y = np.array([1.0, None] * 20, dtype=object)
    with pytest.raises(ValueError, match="np.nan"):  # the way to mark an unobserved value
        JacobianRegressor(**FAST).fit(X, y, jacobian=np.zeros((40, 2)))


def test_numeric_object_targets_still_fit(X):
    y = pd.Series(np.arange(40.0)).astype(object)  # a pandas object column of floats is numeric
    JacobianRegressor(**FAST).fit(X, y)


@pytest.mark.parametrize("labels", [np.array([0, 1] * 20), np.array([0.0, 1.0] * 20), np.array([-1, 1] * 20)])
def test_labels_given_to_the_invertible_regressor_warn_and_name_the_classifiers(X, labels):
    with pytest.warns(UserWarning, match="JacobianClassifier") as record:
        InvertibleJacobianRegressor(**FAST).fit(X[:, :1], labels)
    assert any("JacobianCalibrator" in str(w.message) for w in record)


def test_continuous_targets_do_not_warn_about_labels(X):
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)  # 3 iterations: not the point
        InvertibleJacobianRegressor(**FAST).fit(X[:, :1], np.exp(X[:, 0]))
        JacobianRegressor(**FAST).fit(X, np.array([0, 1] * 20))  # a free regressor may fit 0/1 targets


def _frame(n=80, seed=0):
    rng = np.random.RandomState(seed)
    df = pd.DataFrame(
        {"income": rng.uniform(1, 5, n), "age": rng.uniform(20, 60, n), "region": rng.choice(["a", "b"], n)}
    )
    y = np.log(df["income"]) + 0.01 * df["age"]
    return df, y


def _pipe(cst, prefix=True):
    ct = ColumnTransformer(
        [("num", StandardScaler(), ["income", "age"]), ("cat", OneHotEncoder(sparse_output=False), ["region"])],
        verbose_feature_names_out=prefix,
    )
    return make_pipeline(ct, JacobianRegressor(monotonic_cst=cst, **FAST)).set_output(transform="pandas")


def test_monotonic_cst_dict_follows_column_transformer_prefixes():
    df, y = _frame()
    pipe = _pipe({"income": 1, "age": -1}).fit(df, y)
    est = pipe[-1]
    assert list(est.feature_names_in_[:2]) == ["num__income", "num__age"]
    assert list(est.guarantee_["monotonic_cst"]) == [1, -1, 0, 0]
    assert est.check_guarantee(pipe[0].transform(df))["holds"]


def test_monotonic_cst_dict_with_exact_names_still_works():
    df, y = _frame()
    pipe = _pipe({"income": 1}, prefix=False).fit(df, y)
    assert list(pipe[-1].guarantee_["monotonic_cst"]) == [1, 0, 0, 0]


def test_monotonic_cst_dict_unknown_name_lists_names_and_the_fix():
    df, y = _frame()
    with pytest.raises(ValueError, match="verbose_feature_names_out=False") as info:
        _pipe({"salary": 1}).fit(df, y)
    assert "num__income" in str(info.value) and "salary" in str(info.value)


def test_monotonic_cst_dict_ambiguous_suffix_is_refused():
    df, y = _frame()
    df["x"] = df["income"]
    ct = ColumnTransformer([("a", StandardScaler(), ["income"]), ("b", StandardScaler(), ["income"])])
    pipe = make_pipeline(ct, JacobianRegressor(monotonic_cst={"income": 1}, **FAST)).set_output(transform="pandas")
    with pytest.raises(ValueError, match="a__income.*b__income"):
        pipe.fit(df, y)


def test_monotonic_cst_dict_naming_one_feature_twice_is_refused():
    df, y = _frame()
    with pytest.raises(ValueError, match="twice"):
        _pipe({"income": 1, "num__income": -1}).fit(df, y)


def test_classifier_monotonic_cst_dict_follows_prefixes_too():
    df, y = _frame()
    ct = ColumnTransformer([("num", StandardScaler(), ["income", "age"])])
    clf = JacobianClassifier(monotonic_cst={"income": 1}, **FAST)
    pipe = make_pipeline(ct, clf).set_output(transform="pandas").fit(df, (y > y.median()).astype(int))
    assert list(pipe[-1].guarantee_["monotonic_cst"]) == [1, 0]


def test_check_guarantee_on_the_fitted_dataframe_is_silent():
    df, y = _frame()
    Xf = df[["income", "age"]]
    est = JacobianRegressor(monotonic_cst={"income": 1}, **FAST).fit(Xf, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert est.check_guarantee(Xf)["holds"]
    lip = JacobianRegressor(constraint="lipschitz", **FAST).fit(Xf, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert lip.check_guarantee(Xf)["holds"]
    with pytest.warns(UserWarning, match="feature names"):  # a mismatch is still reported, once
        lip.check_guarantee(Xf.to_numpy())


def test_label_warning_spares_constant_targets_streams_and_dropped_rows(X):
    x = X[:, :1]
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        InvertibleJacobianRegressor(**FAST).fit(x, np.full(40, 3.5))  # one level: not labels
        counts = np.floor(2 * (x[:, 0] + 2)).astype(float)  # a count target, streamed in sorted chunks
        order = np.argsort(counts)
        est = InvertibleJacobianRegressor(**FAST).partial_fit(x[order[::5]], counts[order[::5]])  # all levels
        for rows in np.array_split(order, 8):  # then sorted chunks, some of one or two levels
            est.partial_fit(x[rows], counts[rows])
    weights = np.r_[np.ones(38), 0.0, 0.0]
    labels = np.r_[np.array([0.0, 1.0] * 19), 5.0, 7.0]  # 0/1 labels once the zero-weight rows are dropped
    with pytest.warns(UserWarning, match="JacobianClassifier"):
        InvertibleJacobianRegressor(**FAST).fit(x, labels, sample_weight=weights)


def test_monotonic_cst_dict_names_both_keys_of_a_feature_given_twice():
    df, y = _frame()
    with pytest.raises(ValueError, match="'income' and 'num__income'"):
        _pipe({"income": 1, "num__income": -1}).fit(df, y)
