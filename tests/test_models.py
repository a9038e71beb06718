"""The GAN architectures: shapes, grouped-vs-loop equivalence, the separable property, specs and latents."""

from __future__ import annotations

import copy
import json

import pytest
import torch

from biogans.errors import BiogansError
from biogans.models import (
    PAPER_MODELS,
    Critic,
    SeparableGenerator,
    assemble_independent,
    build,
    build_critic,
    fixed_noise,
    interpolate,
    sample_noise,
    spec_for,
)
from biogans.models.zoo import OBJECTIVES
from biogans.train.objectives import get_objective

PROTEINS = ["Alp14", "Arp3", "Sid2"]
B = 4


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def tiny_spec(name: str, proteins: list[str] = PROTEINS, **overrides) -> dict:
    """A paper model at a tiny width (ngf 4; 8 for the separable multi-channel model, whose red portion
    0.143 leaves no red channel in a layer of 4) so that tests run in milliseconds."""
    return spec_for(name, proteins, **{"ngf": 8 if name == "wgangp-multichannel-sep" else 4, **overrides})


def assert_grads_close(actual: torch.Tensor, expected: torch.Tensor, what: str) -> None:
    """Gradients agree to float32 round-off, judged relative to the largest entry."""
    torch.testing.assert_close(actual, expected, rtol=1e-4, atol=1e-5 * float(expected.abs().max()), msg=what)


def _weighted_sum(outputs: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    return (outputs * weights).sum()


# --------------------------------------------------------------------------- shapes


@pytest.mark.parametrize("name", list(PAPER_MODELS))
def test_every_paper_model_has_the_documented_shapes(name):
    model = build(tiny_spec(name))
    n_proteins = len(PROTEINS) if model.conditional else 1
    channels = 1 + len(PROTEINS) if model.conditional else 2
    z = sample_noise(B, model.nz, torch.Generator().manual_seed(1))

    images = model(z)
    assert images.shape == (B, channels, 48, 80)
    assert images.min() >= -1 and images.max() <= 1
    assert images.std() > 0
    assert model.cells(z).shape == (B, n_proteins, 2, 48, 80)
    assert model.cells(z, protein=n_proteins - 1).shape == (B, 2, 48, 80)

    groups, critic_channels = model.critic_layout
    critic = build_critic(model.spec, ndf=4, batchnorm=get_objective(PAPER_MODELS[name].objective).critic_batchnorm)
    if model.spec["architecture"] == "independent":
        with pytest.raises(BiogansError, match="part by part"):
            model.to_critic(images)
        critic_input = model.cells(z).flatten(1, 2)  # evaluation: one critic per protein's cells
    else:
        critic_input = model.to_critic(images)
    assert critic_input.shape == (B, groups * critic_channels, 48, 80)
    assert critic(critic_input).shape == (B, groups)


def test_paper_widths_and_latent_sizes():
    assert len(PAPER_MODELS) == 14
    for name, model in PAPER_MODELS.items():
        assert model.name == name and name.split("-")[0] == model.objective in OBJECTIVES
        assert name.endswith("-sep") == (model.separable and model.architecture != "star")
        assert model.kind == ("joint" if model.architecture in ("dcgan", "separable") else "conditional")
    multichannel = PAPER_MODELS["wgangp-multichannel-sep"]
    assert (multichannel.nz, multichannel.ngf, multichannel.ndf) == (350, 224, 224)
    assert multichannel.red_portion == 0.143  # the paper's scripts
    assert [m.kind for m in PAPER_MODELS.values()].count("joint") == 6
    assert not get_objective("wgangp").critic_batchnorm and get_objective("gan").critic_batchnorm
    # nz 350 with red_portion 0.143 splits 50 + 300, as in the paper.
    assert build(tiny_spec("wgangp-multichannel-sep")).nz_red == 50
    assert build(tiny_spec("wgangp-star")).nz_red == 50
    assert build(tiny_spec("wgangp")).nz_red == 0


def test_other_image_sizes_and_the_generator_widths():
    spec = tiny_spec("gan-star", height=32, width=64)
    model = build(spec)
    assert model(torch.randn(2, model.nz)).shape == (2, 1 + len(PROTEINS), 32, 64)
    assert build_critic(spec, ndf=4, batchnorm=True)(torch.randn(2, 6, 32, 64)).shape == (2, 3)
    # DCGAN widths 8ngf -> 4ngf -> 2ngf -> ngf; separable layers split them by red_portion.
    net = SeparableGenerator(nz=10, ngf=4, red_portion=0.25)
    first = net.layers[0]
    assert (first.red.out_channels, first.green.out_channels) == (8, 24)


# --------------------------------------------------------------------------- grouped critic


@pytest.mark.parametrize("batchnorm", [True, False])
def test_grouped_critic_equals_a_loop_of_single_critics(batchnorm):
    groups = 3
    critic = Critic(2, 4, groups=groups, batchnorm=batchnorm).train()
    singles = [critic.group(g) for g in range(groups)]
    x = torch.randn(B, 2 * groups, 48, 80)
    weights = torch.randn(B, groups)

    scores = critic(x)
    _weighted_sum(scores, weights).backward()
    loop_scores = torch.cat([single(x[:, 2 * g:2 * g + 2]) for g, single in enumerate(singles)], 1)
    _weighted_sum(loop_scores, weights).backward()

    assert scores.shape == (B, groups)
    torch.testing.assert_close(scores, loop_scores, rtol=1e-4, atol=1e-5)
    for (name, param), chunks in zip(critic.named_parameters(),
                                     zip(*(single.parameters() for single in singles), strict=True), strict=True):
        assert_grads_close(param.grad, torch.cat([c.grad for c in chunks]), f"gradient of {name}")
    # Batch norm statistics were updated per group, as by the single critics.
    for key, value in critic.state_dict().items():
        if value.dim():
            torch.testing.assert_close(value, torch.cat([s.state_dict()[key] for s in singles]))


def test_critic_from_single_stacks_and_group_unstacks():
    singles = [Critic(2, 4) for _ in range(3)]
    stacked = Critic.from_single(singles)
    assert stacked.groups == 3
    x = torch.randn(B, 6, 48, 80)
    stacked.eval(), [s.eval() for s in singles]
    torch.testing.assert_close(stacked(x), torch.cat([s(x[:, 2 * g:2 * g + 2]) for g, s in enumerate(singles)], 1))
    for g, single in enumerate(singles):
        for a, b in zip(stacked.group(g).state_dict().values(), single.state_dict().values(), strict=True):
            assert torch.equal(a, b)
    with pytest.raises(BiogansError):
        Critic.from_single([Critic(2, 4), Critic(2, 8)])
    with pytest.raises(BiogansError):
        stacked.group(3)


# --------------------------------------------------------------------------- star-shaped generator


def test_batched_star_equals_a_loop_of_single_tower_generators():
    star = build(tiny_spec("gan-star", ngf=8)).net.train()
    towers = [star.tower(t) for t in range(star.towers)]
    weights = torch.randn(B, 1 + star.towers, 48, 80)

    z = torch.randn(B, star.nz, requires_grad=True)
    images = star(z)
    # Loss: every tower's cell (the shared red and its green) weighted as in the loop below.
    batched_loss = sum(_weighted_sum(images[:, [0, 1 + t]], weights[:, [0, 1 + t]]) for t in range(star.towers))
    batched_loss.backward()

    z_loop = z.detach().clone().requires_grad_()
    loop_images = [tower(z_loop) for tower in towers]
    sum(_weighted_sum(x, weights[:, [0, 1 + t]]) for t, x in enumerate(loop_images)).backward()

    torch.testing.assert_close(images[:, :1], loop_images[0][:, :1])
    torch.testing.assert_close(images[:, 1:], torch.cat([x[:, 1:] for x in loop_images], 1))
    assert_grads_close(z.grad, z_loop.grad, "gradient of z")

    tower_params = [dict(tower.named_parameters()) for tower in towers]
    for name, param in star.named_parameters():
        if name in star.tower_index(0):  # per-tower block: equals that tower's gradient
            for t in range(star.towers):
                assert_grads_close(param.grad.narrow(*star.tower_index(t)[name]), tower_params[t][name].grad,
                                   f"gradient of {name}, tower {t}")
        else:  # shared red part: the sum of the towers' gradients
            assert_grads_close(param.grad, sum(p[name].grad for p in tower_params), f"gradient of {name}")


@pytest.mark.parametrize("name", ["gan-star", "wgangp-multichannel-sep", "wgangp-independent", "gan-sep"])
def test_cells_of_one_protein_equal_the_slice_of_all_cells(name):
    model = build(tiny_spec(name)).train()
    reference = copy.deepcopy(model)
    z = torch.randn(B, model.nz)
    all_cells = reference.cells(z)
    for p in range(all_cells.shape[1]):
        zp = z.clone().requires_grad_()
        one = model.cells(zp, protein=p)
        torch.testing.assert_close(one, all_cells[:, p])
        one.sum().backward()
        assert zp.grad is not None and zp.grad.abs().sum() > 0
    with pytest.raises(BiogansError):
        model.cells(z, protein=all_cells.shape[1])


def test_star_cells_of_one_protein_update_the_shared_batch_norm_statistics():
    model = build(tiny_spec("gan-star")).train()
    reference = copy.deepcopy(model)
    z = torch.randn(B, model.nz)
    reference.cells(z)
    model.cells(z, protein=1)
    layer, fresh = model.net.layers[1], build(tiny_spec("gan-star")).net.layers[1]
    torch.testing.assert_close(layer.norm_red.running_mean, reference.net.layers[1].norm_red.running_mean)
    block = layer.tower_index(1)["norm_green.running_mean"]
    torch.testing.assert_close(layer.norm_green.running_mean.narrow(*block),
                               reference.net.layers[1].norm_green.running_mean.narrow(*block))
    other = layer.tower_index(0)["norm_green.running_mean"]
    assert torch.equal(layer.norm_green.running_mean.narrow(*other), fresh.norm_green.running_mean.narrow(*other))


# --------------------------------------------------------------------------- the separable property


@pytest.mark.parametrize("name", ["gan-sep", "gan-star", "wgangp-multichannel-sep", "gan-independent-sep"])
def test_red_output_does_not_depend_on_the_green_part_of_z(name):
    model = build(tiny_spec(name)).train()
    z = torch.randn(B, model.nz, requires_grad=True)
    red = model(z)[:, 0]
    (grad,) = torch.autograd.grad(red.square().sum(), z)
    assert grad[:, model.nz_red:].abs().max() == 0
    assert grad[:, :model.nz_red].abs().max() > 0


def test_non_separable_red_depends_on_all_of_z():
    model = build(tiny_spec("gan"))
    z = torch.randn(B, model.nz, requires_grad=True)
    (grad,) = torch.autograd.grad(model(z)[:, 0].square().sum(), z)
    assert (grad.abs().sum(0) > 0).all()


def test_star_towers_do_not_see_each_others_weights():
    star = build(tiny_spec("gan-star")).net.train()
    z = torch.randn(B, star.nz)
    star(z)[:, 1].square().sum().backward()  # tower 0's green output
    own = star.tower_index(0)
    for t in range(1, star.towers):
        for name, block in star.tower_index(t).items():
            if not name.endswith(("weight", "bias")) or "running" in name:
                continue
            param = star.get_parameter(name)
            assert param.grad.narrow(*block).abs().max() == 0, f"tower {t} block of {name}"
            assert param.grad.narrow(*own[name]).abs().max() > 0, f"tower 0 block of {name}"


# --------------------------------------------------------------------------- specs, build, checkpoints


@pytest.mark.parametrize("name", list(PAPER_MODELS))
def test_spec_round_trip_through_a_checkpoint_file(name, tmp_path):
    spec = tiny_spec(name)
    assert json.loads(json.dumps(spec)) == spec
    model = build(spec).eval()
    assert model.spec == spec
    path = tmp_path / "generator_100.pt"
    torch.save({"spec": model.spec, "state_dict": model.state_dict()}, path)

    saved = torch.load(path, weights_only=True)
    restored = build(saved["spec"])
    restored.load_state_dict(saved["state_dict"])
    restored.eval()
    z = torch.randn(B, model.nz)
    torch.testing.assert_close(restored(z), model(z))


def test_build_is_deterministic_given_the_seed_and_uses_the_paper_init():
    spec = tiny_spec("wgangp-star")
    torch.manual_seed(3)
    first = build(spec).state_dict()
    torch.manual_seed(3)
    second = build(spec).state_dict()
    assert all(torch.equal(first[k], second[k]) for k in first)
    model = build(spec_for("gan-sep", PROTEINS, ngf=32))
    conv = model.net.layers[1].red_to_green.weight.detach()
    norm = model.net.layers[1].norm_green
    assert conv.mean().abs() < 0.002 and float(conv.std()) == pytest.approx(0.02, rel=0.05)
    assert float(norm.weight.detach().mean()) == pytest.approx(1, abs=0.01) and norm.bias.abs().max() == 0


def _spec_with(spec, **changes):
    spec = copy.deepcopy(spec)
    for key, value in changes.items():
        if value is ...:
            del spec[key]
        else:
            spec[key] = value
    return spec


BAD_SPECS = {
    "unknown architecture": _spec_with(tiny_spec("gan"), architecture="vae"),
    "missing key": _spec_with(tiny_spec("gan"), ngf=...),
    "extra key": _spec_with(tiny_spec("gan"), red_portion=0.5),
    "zero nz": _spec_with(tiny_spec("gan"), nz=0),
    "boolean ngf": _spec_with(tiny_spec("gan"), ngf=True),
    "height not a multiple of 16": _spec_with(tiny_spec("gan"), height=50),
    "red_portion 1": _spec_with(tiny_spec("gan-sep"), red_portion=1.0),
    "red_portion leaves no red channel": _spec_with(tiny_spec("gan-sep"), red_portion=0.05),
    "no proteins": _spec_with(tiny_spec("gan-star"), proteins=[]),
    "repeated protein": _spec_with(tiny_spec("gan-star"), proteins=["Alp14", "Alp14"]),
    "separable not a bool": _spec_with(tiny_spec("wgangp-multichannel"), separable="yes"),
    "red_portion on a plain multichannel": _spec_with(tiny_spec("wgangp-multichannel"), red_portion=0.5),
    "parts of another nz": _spec_with(tiny_spec("gan-independent"), nz=64),
    "one part too few": _spec_with(tiny_spec("gan-independent"), proteins=PROTEINS + ["Tea1"]),
    "star part": _spec_with(tiny_spec("gan-independent", proteins=["Alp14"]), parts=[tiny_spec("gan-star", ["Alp14"])]),
    "not a dict": ["dcgan"],
}


@pytest.mark.parametrize("case", list(BAD_SPECS))
def test_bad_specs_raise_one_line_errors(case):
    with pytest.raises(BiogansError) as error:
        build(BAD_SPECS[case], source="generator_100.pt")
    message = str(error.value)
    assert message.startswith("generator_100.pt: ") and "\n" not in message


def test_zoo_names_and_overrides():
    with pytest.raises(BiogansError, match="known: gan, wgan"):
        spec_for("dcgan-star", PROTEINS)
    with pytest.raises(BiogansError, match="cannot override red_portion"):
        spec_for("gan", PROTEINS, red_portion=0.5)
    spec = spec_for("wgangp-sep", PROTEINS, ngf=16, red_portion=0.25, nz=None)
    assert (spec["ngf"], spec["red_portion"], spec["nz"]) == (16, 0.25, 100)
    independent = spec_for("gan-independent-sep", PROTEINS)
    assert [part["proteins"] for part in independent["parts"]] == [[p] for p in PROTEINS]
    assert {part["architecture"] for part in independent["parts"]} == {"separable"}


def test_assemble_independent_bundles_the_parts(tmp_path):
    parts = [build(tiny_spec("gan-sep", [protein])) for protein in PROTEINS]
    for part in parts:
        torch.save({"spec": part.spec, "state_dict": part.state_dict()}, tmp_path / f"{part.proteins[0]}.pt")
    loaded = [torch.load(tmp_path / f"{p}.pt", weights_only=True) for p in PROTEINS]
    spec, state = assemble_independent([(c["spec"], c["state_dict"]) for c in loaded])

    assert spec["architecture"] == "independent" and spec["proteins"] == PROTEINS
    assert all(key.startswith("parts.") for key in state)
    model = build(spec)
    model.load_state_dict(state)
    model.eval(), [part.eval() for part in parts]
    z = torch.randn(B, model.nz)
    for p, part in enumerate(parts):
        torch.testing.assert_close(model.cells(z, protein=p), part(z))
    torch.testing.assert_close(model(z)[:, 0], parts[0](z)[:, 0])

    other_nz = build(tiny_spec("gan-sep", ["Tea1"], nz=64))
    with pytest.raises(BiogansError, match="nz"):
        assemble_independent([(loaded[0]["spec"], loaded[0]["state_dict"]), (other_nz.spec, other_nz.state_dict())])
    wrong_width = build(tiny_spec("gan-sep", ["Tea1"], ngf=8))
    with pytest.raises(BiogansError, match="does not match"):
        assemble_independent([(loaded[0]["spec"], loaded[0]["state_dict"]),
                              (tiny_spec("gan-sep", ["Tea1"]), wrong_width.state_dict())])


# --------------------------------------------------------------------------- latents


def test_fixed_noise_groups_share_the_red_part_of_z():
    spec = tiny_spec("wgangp-star")
    z = fixed_noise(spec, n=20, group=8, seed=0)
    nz_red = build(spec).nz_red
    assert z.shape == (20, spec["nz"])
    for start in (0, 8, 16):
        group = z[start:start + 8]
        assert torch.equal(group[:, :nz_red], group[:1, :nz_red].expand_as(group[:, :nz_red]))
        assert len(torch.unique(group[:, nz_red:], dim=0)) == len(group)
    assert not torch.equal(z[0, :nz_red], z[8, :nz_red])
    torch.testing.assert_close(fixed_noise(build(spec), n=20, seed=0), z)
    assert not torch.equal(fixed_noise(spec, n=20, seed=1), z)


def test_fixed_noise_of_a_plain_model_is_iid():
    z = fixed_noise(tiny_spec("gan"), n=16)
    assert len(torch.unique(z[:, :10], dim=0)) == 16


def test_interpolation_runs_from_z0_to_z1():
    z0, z1 = torch.randn(100), torch.randn(100)
    for mode in ("slerp", "linear"):
        path = interpolate(z0, z1, 7, mode=mode)
        assert path.shape == (7, 100)
        torch.testing.assert_close(path[0], z0)
        torch.testing.assert_close(path[-1], z1)
    linear, slerp = interpolate(z0, z1, 3, "linear"), interpolate(z0, z1, 3, "slerp")
    torch.testing.assert_close(linear[1], (z0 + z1) / 2)
    assert slerp[1].norm() > linear[1].norm()  # slerp keeps the typical norm, the chord shrinks it
    torch.testing.assert_close(interpolate(z0, 2 * z0, 3)[1], 1.5 * z0)  # parallel: falls back to linear
    with pytest.raises(BiogansError):
        interpolate(z0, z1, 5, mode="cubic")
