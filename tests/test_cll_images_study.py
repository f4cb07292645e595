"""asp.studies.cll_images: which overlay data sets run, where their files are found, the jobs and
their parameters, and the messages for what is missing."""

import pytest

from asp.studies.cll_images import SHARING_JOB, ImagePlan, data_seed, run_seeds, steps

BLOCK = {
    "datasets": ["multi_mnist", "multi_fashion", "multi_fashion_mnist"],
    "models": ["single_lenet", "multi_lenet_cll", "lenet_soft", "lenet_adaptive"],
    "data_dirs": ["data/raw", "/elsewhere"],
    "images": {"train": 30, "val": 10, "test": 20},
    "validation": 0.1,
    "runs": 4,
    "runs_per_batch": 2,
    "device": "cpu",
    "dtype": "float32",
    "training": {"epochs": 2, "batch_size": 8, "lr": 0.001, "halve_every": 15},
    "sharing": {"lambda": 0.001, "lambda_star": 0.002, "theta": 0.5, "round_epochs": 1},
}
FASHION = "/usr/share/datasets/fashion-mnist"


def study(files: set[str], **change) -> ImagePlan:
    return ImagePlan.from_config({"cll_images": BLOCK | change}, files.__contains__)


def fashion_in(folder: str) -> set[str]:
    return {
        f"{folder}/{n}"
        for n in (
            "train-images-idx3-ubyte.gz",
            "train-labels-idx1-ubyte.gz",
            "t10k-images-idx3-ubyte.gz",
            "t10k-labels-idx1-ubyte.gz",
        )
    }


def test_without_mnist_only_multi_fashion_runs_and_the_others_name_their_files():
    s = study(fashion_in(FASHION))
    assert s.present == ["multi_fashion"]
    assert [m.what for m in s.missing] == [
        "the CLL paper's data set 'multi_mnist'",
        "the CLL paper's data set 'multi_fashion_mnist'",
    ]
    m = s.missing[0]
    assert list(m.files) == [
        "mnist/train-images-idx3-ubyte.gz",
        "mnist/train-labels-idx1-ubyte.gz",
        "mnist/t10k-images-idx3-ubyte.gz",
        "mnist/t10k-labels-idx1-ubyte.gz",
    ]
    assert list(m.searched) == ["data/raw/mnist", "/elsewhere/mnist"]
    assert "no package registry" in m.obtain
    # the package's folder serves Fashion-MNIST
    assert s.inputs("multi_fashion")["fashion_test_labels"] == (
        f"{FASHION}/t10k-labels-idx1-ubyte.gz"
    )
    with pytest.raises(ValueError, match=r"'multi_mnist' needs mnist/train-images-idx3-ubyte"):
        s.inputs("multi_mnist")
    with pytest.raises(ValueError, match="not among cll_images.datasets"):
        s.inputs("multi_digits")
    assert s.run_files() == [
        "results/cll_images/multi_fashion/single_lenet.parquet",
        "results/cll_images/multi_fashion/multi_lenet_cll.parquet",
        f"results/cll_images/multi_fashion/{SHARING_JOB}.parquet",
    ]


def declared(files: set[str]):
    return steps({"cll_images": BLOCK, "base_seed": 7}, files.__contains__)


def test_its_declaration_gives_its_steps_and_what_is_not_run():
    plan = declared(fashion_in(FASHION))
    assert plan.runs and [m.what for m in plan.missing][0].endswith("'multi_mnist'")
    data, run, table, fig = plan.steps
    assert [s.name for s in plan.steps] == [
        "cll_images_data",
        "cll_images_run",
        "cll_images",
        "fig_cll_images",
    ]
    assert data.output == {"data": "results/cll_images/{image_set}/data.npz"}
    assert data.tag == "cll_images/cll_images_data/{image_set}"
    assert data.params_at({"image_set": "multi_fashion"})["base_seed"] == 7
    assert run.threads and run.constraints["lenet_job"] == "single_lenet|multi_lenet_cll|" + (
        SHARING_JOB
    )
    assert run.run == "asp.studies.cll_images_steps:train"
    assert table.output["table"] == "results/tables/cll_images.csv"
    assert table.report == {"table": "Tables"} and fig.report == {"figure": "Figures"}
    assert table.inputs_at({})["runs"][0] == (
        "results/cll_images/multi_fashion/single_lenet.parquet"
    )
    # no data set can run: the table and its figure are left out, and the table refuses
    none = declared(set())
    assert not none.runs and len(none.missing) == 3
    with pytest.raises(ValueError, match=r"'multi_mnist' needs mnist/train-images-idx3"):
        none.steps[2].inputs_at({})
    assert steps({"base_seed": 7}, None) is None  # no data sets: off


def test_the_first_folder_with_all_four_files_wins_and_a_partial_one_is_passed_over():
    mnist = {p.replace(FASHION, "/elsewhere/mnist") for p in fashion_in(FASHION)}
    partial = set(sorted(fashion_in("data/raw/mnist"))[:3])
    local_fashion = fashion_in("data/raw/fashion")
    s = study(mnist | partial | local_fashion | fashion_in(FASHION))
    assert s.present == BLOCK["datasets"] and s.missing == []
    inputs = s.inputs("multi_fashion_mnist")
    assert inputs["mnist_train_images"] == "/elsewhere/mnist/train-images-idx3-ubyte.gz"
    assert inputs["fashion_train_images"] == "data/raw/fashion/train-images-idx3-ubyte.gz"
    assert len(inputs) == 8 and len(s.inputs("multi_mnist")) == 4


def test_no_files_no_outputs_and_an_empty_block_is_off():
    assert study(set()).run_files() == []
    # the study's own table refuses, naming what is missing
    with pytest.raises(ValueError, match=r"'multi_fashion' needs fashion/train-images-idx3"):
        study(set()).require_present()
    study(fashion_in(FASHION)).require_present()
    off = ImagePlan.from_config({}, set().__contains__)
    assert off.datasets == [] and off.missing == []
    with pytest.raises(ValueError, match="cll_images.datasets is empty in the config"):
        off.require_present()


def test_job_parameters_and_ours_in_one_job():
    s = study(fashion_in(FASHION))
    assert s.jobs == ["single_lenet", "multi_lenet_cll", SHARING_JOB]
    p = s.job_params("multi_fashion", SHARING_JOB, 7)
    assert p["models"] == ["lenet_soft", "lenet_adaptive"] and p["sharing"]["theta"] == 0.5
    assert p["runs"] == 4 and p["runs_per_batch"] == 2 and p["base_seed"] == 7
    assert "sharing" not in s.job_params("multi_fashion", "single_lenet", 7)
    soft_only = study(fashion_in(FASHION), models=["single_lenet", "lenet_soft"])
    assert soft_only.job_params("multi_fashion", SHARING_JOB, 7)["models"] == ["lenet_soft"]
    with pytest.raises(ValueError, match="'multi_lenet_cs' is not a job of cll_images"):
        s.job_params("multi_fashion", "multi_lenet_cs", 7)


def test_seeds_pair_runs_across_models_and_data_sets():
    a, b = run_seeds(1, [0, 3]), run_seeds(1, [3])
    assert a[1].generate_state(2).tolist() == b[0].generate_state(2).tolist()
    assert a[0].generate_state(2).tolist() != a[1].generate_state(2).tolist()
    assert run_seeds(2, [3])[0].generate_state(2).tolist() != b[0].generate_state(2).tolist()
    assert (
        data_seed(1, "multi_mnist").generate_state(2).tolist()
        != data_seed(1, "multi_fashion").generate_state(2).tolist()
    )
