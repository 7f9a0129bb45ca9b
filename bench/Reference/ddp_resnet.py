#!/usr/bin/python3
"""The peer we measure ourselves against (issue 15): PyTorch DDP, gloo, N processes x 1 thread, fp32, training the
same network on the same data with the same recipe as `distributed train`'s defaults, written for this bench.

  /usr/bin/python3 bench/Reference/ddp_resnet.py --max-steps 200           # throughput: img/s over steps 20..200
  /usr/bin/python3 bench/Reference/ddp_resnet.py --epochs 3                  # accuracy after the same epochs as ours

Network: CIFAR-style ResNet-20 (He et al. 2016, 4.2) for 1x28x28 input: 3x3 stem, stages of 3 blocks at 16/32/64
channels, the parameter-free option-A shortcut (stride-2 subsampling plus zero channels), batch norm, global average
pooling, linear classifier; He (fan-out) initialisation. Recipe: global batch 128 split over the processes, SGD with
Nesterov momentum 0.9, weight decay 5e-4 on conv and linear weights only, learning rate 0.1 for batch 128 with a
linear warmup then linear decay to zero, pixels standardised by the training set's mean and std, no augmentation.
Warmup and label smoothing follow `distributed train`'s defaults for the epoch count (RecipePolicy): 0.3 epochs and
0.1 for runs of up to 4 epochs, 1 epoch and 0 for longer ones; --warmup-epochs and --label-smoothing override them.
Requires Debian's python3-torch (PyTorch 1.13 on bookworm).
"""
import argparse, gzip, os, statistics, struct, sys, time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn
import torch.nn.functional as F

DATA = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic, = struct.unpack(">I", raw[:4])
    dims = magic & 0xFF
    shape = struct.unpack(">" + "I" * dims, raw[4:4 + 4 * dims])
    return torch.frombuffer(bytearray(raw[4 + 4 * dims:]), dtype=torch.uint8).reshape(shape)


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.stride, self.extra = stride, cout - cin

    def forward(self, x):
        branch = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        shortcut = x
        if self.stride != 1 or self.extra:
            shortcut = x[:, :, ::self.stride, ::self.stride]
            low = self.extra // 2
            shortcut = F.pad(shortcut, (0, 0, 0, 0, low, self.extra - low))
        return F.relu(shortcut + branch)


class ResNet(nn.Module):
    def __init__(self, n=3, classes=10):
        super().__init__()
        self.conv = nn.Conv2d(1, 16, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        blocks, cin = [], 16
        for width, stride in ((16, 1), (32, 2), (64, 2)):
            for i in range(n):
                blocks.append(Block(cin, width, stride if i == 0 else 1))
                cin = width
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(64, classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        h = self.blocks(F.relu(self.bn(self.conv(x))))
        return self.fc(F.adaptive_avg_pool2d(h, 1).flatten(1))


def worker(rank, args, port):
    torch.set_num_threads(args.threads)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=args.processes)
    torch.manual_seed(args.seed)
    train_x, train_y = read_idx(f"{DATA}/train-images-idx3-ubyte.gz"), read_idx(f"{DATA}/train-labels-idx1-ubyte.gz").long()
    test_x, test_y = read_idx(f"{DATA}/t10k-images-idx3-ubyte.gz"), read_idx(f"{DATA}/t10k-labels-idx1-ubyte.gz").long()
    train_x = train_x.float().div(255).unsqueeze(1)
    mean, std = train_x.mean().item(), train_x.std().item()
    train_x = (train_x - mean) / std
    test_x = (test_x.float().div(255).unsqueeze(1) - mean) / std

    model = nn.parallel.DistributedDataParallel(ResNet())
    decay = [p for name, p in model.named_parameters() if p.dim() > 1]
    rest = [p for name, p in model.named_parameters() if p.dim() <= 1]
    optimizer = torch.optim.SGD([{"params": decay, "weight_decay": 5e-4}, {"params": rest, "weight_decay": 0}],
                                lr=args.lr, momentum=0.9, nesterov=True)
    per_rank = args.batch // args.processes
    steps_per_epoch = len(train_x) // args.batch
    total = args.max_steps or steps_per_epoch * args.epochs
    warmup = round(args.warmup_epochs * steps_per_epoch)

    def lr_at(step):
        if warmup > 0 and step < warmup:
            return args.lr * (step + 1) / warmup
        return args.lr * max(0.0, (total - step) / max(1, total - warmup))

    step, times, started = 0, [], time.perf_counter()
    for epoch in range(args.epochs):
        order = torch.randperm(len(train_x), generator=torch.Generator().manual_seed(args.seed + epoch))
        model.train()
        for b in range(steps_per_epoch):
            if step >= total:
                break
            batch = order[b * args.batch:(b + 1) * args.batch][rank * per_rank:(rank + 1) * per_rank]
            t0 = time.perf_counter()
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step)
            optimizer.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(train_x[batch]), train_y[batch], label_smoothing=args.label_smoothing)
            loss.backward()
            optimizer.step()
            times.append(time.perf_counter() - t0)
            step += 1
        if rank == 0 and args.max_steps == 0:
            model.eval()
            with torch.no_grad():
                correct = sum((model.module(test_x[i:i + 1000]).argmax(1) == test_y[i:i + 1000]).sum().item()
                              for i in range(0, len(test_x), 1000))
            print(f"epoch {epoch + 1}: test accuracy {100 * correct / len(test_x):.2f} %, "
                  f"wall {time.perf_counter() - started:.0f} s", flush=True)
        dist.barrier()
        if step >= total:
            break
    if rank == 0:
        steady = times[20:] or times
        wall = time.perf_counter() - started
        print(f"DDP {args.processes} x {args.threads} thread(s), fp32: {step} steps in {wall:.1f} s; "
              f"median step {1000 * statistics.median(steady):.1f} ms = {args.batch / statistics.median(steady):.0f} img/s; "
              f"mean over steps 20+ {args.batch / statistics.mean(steady):.0f} img/s", flush=True)
    dist.destroy_process_group()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per process")
    parser.add_argument("--batch", type=int, default=128, help="global batch")
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--warmup-epochs", type=float, default=None, help="default: 0.3 for up to 4 epochs, else 1")
    parser.add_argument("--label-smoothing", type=float, default=None, help="default: 0.1 for up to 4 epochs, else 0")
    parser.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (throughput only, no evaluation)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--port", type=int, default=29517)
    args = parser.parse_args()
    if args.processes < 1 or args.threads < 1 or args.batch % args.processes:
        sys.exit("error: --processes and --threads must be >= 1 and --batch divisible by --processes")
    short = args.epochs <= 4  # distributed train's RecipePolicy.ShortRunMaxEpochs
    if args.warmup_epochs is None:
        args.warmup_epochs = 0.3 if short else 1.0
    if args.label_smoothing is None:
        args.label_smoothing = 0.1 if short else 0.0
    if not 0 <= args.warmup_epochs <= args.epochs:
        sys.exit(f"error: --warmup-epochs {args.warmup_epochs} must be between 0 and --epochs ({args.epochs})")
    if not 0 <= args.label_smoothing < 1:
        sys.exit(f"error: --label-smoothing {args.label_smoothing} must be in [0, 1)")
    mp.spawn(worker, args=(args, args.port), nprocs=args.processes, join=True)


if __name__ == "__main__":
    main()
