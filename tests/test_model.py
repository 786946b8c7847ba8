import pytest
import torch

from glo.model.losses import evaluate, recon_loss
from glo.model.nets import GLO
from glo.train.trainer import objective


def test_shapes_and_range():
    model = GLO(n_images=7, class_dim=25, content_dim=25)
    out, content = model(torch.arange(7), torch.tensor([0, 1, 2, 3, 4, 5, 9]))
    assert out.shape == (7, 1, 28, 28)
    assert content.shape == (7, 25)
    assert out.min().item() >= 0.0 and out.max().item() <= 1.0
    class_code, fed, clean = model.codes(torch.arange(7), torch.zeros(7, dtype=torch.long))
    assert class_code.shape == (7, 25) and torch.equal(fed, clean)


@pytest.mark.parametrize("combine", ["concat", "adain"])
def test_combines_decode_any_code_pair(combine):
    torch.manual_seed(0)
    model = GLO(n_images=6, combine=combine)
    out, content = model(torch.arange(6), torch.arange(6) % 10)
    assert out.shape == (6, 1, 28, 28) and content.shape == (6, 25)
    # the same content code under two class codes gives two different images
    a = model.decode(model.class_codes.weight[:1], content[:1])
    b = model.decode(model.class_codes.weight[1:2], content[:1])
    assert a.shape == (1, 1, 28, 28) and not torch.allclose(a, b)
    assert torch.allclose(model.decode(model.class_codes(torch.arange(6) % 10), content), out)


def test_adain_class_code_acts_only_through_modulation():
    model = GLO(n_images=2, combine="adain")
    assert model.generator.fc.in_features == 25  # content code only at the bottom
    assert model.generator.style.in_features == 25  # class code only into scales and biases


def test_noise_reaches_content_codes_only():
    torch.manual_seed(0)
    model = GLO(n_images=4)
    idx, lab = torch.arange(4), torch.tensor([0, 1, 2, 3])
    class_clean, clean, _ = model.codes(idx, lab)
    noise = torch.randn(4, 25)
    class_noisy, noisy, content = model.codes(idx, lab, noise)
    assert torch.equal(class_noisy, class_clean)  # class part untouched
    assert torch.equal(content, clean)  # the decay acts on the clean code
    assert torch.allclose(noisy - clean, noise, atol=1e-6)


def test_evaluation_is_noise_free_and_repeatable():
    torch.manual_seed(0)
    model = GLO(n_images=20)
    images = torch.rand(20, 1, 28, 28)
    labels = torch.arange(20) % 10
    a, b = evaluate(model, images, labels, chunk=7), evaluate(model, images, labels)
    assert a["recon_loss"] == b["recon_loss"] or abs(a["recon_loss"] - b["recon_loss"]) < 1e-6
    assert abs(a["recon_loss"] - (a["recon_l1"] + a["recon_l2"])) < 1e-9


def test_decay_acts_on_content_codes_only():
    torch.manual_seed(0)
    model = GLO(n_images=8)
    idx, lab, target = torch.arange(8), torch.arange(8) % 10, torch.rand(8, 1, 28, 28)

    def grads(decay):
        model.zero_grad()
        objective(model, idx, lab, target, None, "l1+l2", decay).backward()
        return {n: p.grad.clone() for n, p in model.named_parameters()}

    without, with_decay = grads(0.0), grads(1.0)
    for name in without:
        if name == "content_codes.weight":
            assert not torch.allclose(without[name], with_decay[name])
        else:
            assert torch.allclose(without[name], with_decay[name]), name


def test_projection_bounds_content_norm():
    model = GLO(n_images=5)
    with torch.no_grad():
        model.content_codes.weight.mul_(100)
    model.project_content_(2.0)
    assert model.content_codes.weight.norm(dim=1).max().item() <= 2.0 + 1e-5


def test_losses():
    a, b = torch.zeros(2, 1, 2, 2), torch.full((2, 1, 2, 2), 0.5)
    assert recon_loss(a, b, "l1").item() == 0.5
    assert recon_loss(a, b, "l2").item() == 0.25
    assert recon_loss(a, b, "l1+l2").item() == 0.75
