"""A port test in the style of pytorch/examples mnist/main.py: a ConvNet trained with Adadelta and
StepLR, a test loop with nll_loss(reduction="sum") and argmax accuracy, the device chosen through
torch.accelerator. Synthetic 12x12 "digits" stand in for MNIST (no download).

Runs unchanged on idrak: tests/test_ports.py swaps the one import line.
"""

import argparse
import zlib

import numpy as np
import torch


class Net(torch.nn.Module):
    def __init__(self, dropout1, dropout2):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 4, 3, 1)
        self.conv2 = torch.nn.Conv2d(4, 8, 3, 1)
        self.dropout1 = torch.nn.Dropout(dropout1)
        self.dropout2 = torch.nn.Dropout(dropout2)
        self.fc1 = torch.nn.Linear(128, 32)
        self.fc2 = torch.nn.Linear(32, 10)

    def forward(self, x):
        F = torch.nn.functional
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        output = F.log_softmax(x, dim=1)
        return output


def train(args, model, device, train_loader, optimizer, epoch, log):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = torch.nn.functional.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        log.append(loss.item())


def test(model, device, test_loader):
    model.eval()
    test_loss = 0
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += torch.nn.functional.nll_loss(output, target, reduction="sum").item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
    return test_loss / len(test_loader.dataset), correct


def synthetic_digits(n, seed):
    """Images whose class is the strongest of 10 fixed random patterns (learnable, no download)."""
    rng = np.random.default_rng(seed)
    patterns = np.random.default_rng(1234).standard_normal((10, 12 * 12))
    x = rng.standard_normal((n, 12 * 12))
    y = (x @ patterns.T).argmax(1)
    x = x + 0.5 * patterns[y]
    return x.reshape(n, 1, 12, 12).astype(np.float32), y.astype(np.int64)


def set_weights(model, seed):
    """Overwrite every parameter from NumPy, so both libraries start from the same weights."""
    state = {}
    for name, value in model.state_dict().items():
        rng = np.random.default_rng([seed, zlib.crc32(name.encode())])  # order-independent
        fan_in = int(np.prod(tuple(value.shape)[1:])) if len(value.shape) > 1 else 16
        w = rng.standard_normal(tuple(value.shape)) / np.sqrt(fan_in)
        state[name] = torch.from_numpy(w.astype(np.float32))
    model.load_state_dict(state)


def main(argv=None):
    parser = argparse.ArgumentParser(description="MNIST-style example")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--test-batch-size", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=1.0)
    parser.add_argument("--gamma", type=float, default=0.7)
    parser.add_argument("--dropout", type=float, nargs=2, default=[0.25, 0.5])
    parser.add_argument("--no-accel", action="store_true")
    parser.add_argument("--shuffle", action="store_true")
    parser.add_argument("--num-workers", type=int, default=0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    use_accel = not args.no_accel and torch.accelerator.is_available()
    torch.manual_seed(args.seed)
    if use_accel:
        device = torch.accelerator.current_accelerator()
    else:
        device = torch.device("cpu")

    train_kwargs = {"batch_size": args.batch_size, "shuffle": args.shuffle}
    test_kwargs = {"batch_size": args.test_batch_size}
    if use_accel or args.num_workers:
        cuda_kwargs = {"num_workers": args.num_workers, "pin_memory": True}
        train_kwargs.update(cuda_kwargs)
        test_kwargs.update(cuda_kwargs)

    xs, ys = synthetic_digits(96, seed=0)
    xt, yt = synthetic_digits(100, seed=1)
    dataset1 = torch.utils.data.TensorDataset(torch.from_numpy(xs), torch.from_numpy(ys))
    dataset2 = torch.utils.data.TensorDataset(torch.from_numpy(xt), torch.from_numpy(yt))
    train_loader = torch.utils.data.DataLoader(dataset1, **train_kwargs)
    test_loader = torch.utils.data.DataLoader(dataset2, **test_kwargs)

    model = Net(*args.dropout)
    set_weights(model, args.seed)
    model = model.to(device)
    optimizer = torch.optim.Adadelta(model.parameters(), lr=args.lr)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=args.gamma)
    before = test(model, device, test_loader)
    losses, tests, lrs = [], [], []
    for epoch in range(1, args.epochs + 1):
        train(args, model, device, train_loader, optimizer, epoch, losses)
        tests.append(test(model, device, test_loader))
        scheduler.step()
        lrs.append(optimizer.param_groups[0]["lr"])
    return {"losses": losses, "before": before, "tests": tests, "lrs": lrs}


if __name__ == "__main__":
    print(main())
