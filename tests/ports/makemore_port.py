"""A port test in the style of Karpathy's makemore: a character-level Transformer and an MLP
(which shifts its context with torch.roll) on a list of names, a CharDataset returning long
tensors, an InfiniteDataLoader over RandomSampler(replacement=True, num_samples=1e10) with
num_workers / pin_memory, evaluation under @torch.inference_mode(), and sampling with topk and
multinomial. The built-in names stand in for names.txt.

Runs unchanged on idrak: tests/test_ports.py swaps the one import line.
"""

import argparse
import math
import zlib
from dataclasses import dataclass

import numpy as np
import torch

WORDS = """emma olivia ava isabella sophia charlotte mia amelia harper evelyn abigail emily
elizabeth mila ella avery sofia camila aria scarlett victoria madison luna grace chloe penelope
layla riley zoey nora lily eleanor hannah lillian addison aubrey ellie stella natalie zoe leah
hazel violet aurora savannah audrey brooklyn bella claire skylar lucy paisley everly anna
caroline nova genesis emilia kennedy samantha maya willow kinsley naomi aaliyah elena sarah
ariana allison gabriella alice madelyn cora ruby eva serenity autumn adeline hailey gianna
valentina isla eliana quinn nevaeh ivy sadie piper lydia alexa josephine emery julia delilah
arianna vivian kaylee sophie brielle madeline""".split()


@dataclass
class ModelConfig:
    block_size: int = None
    vocab_size: int = None
    n_layer: int = 2
    n_embd: int = 16
    n_embd2: int = 32
    n_head: int = 2


class NewGELU(torch.nn.Module):
    def forward(self, x):
        return (
            0.5
            * x
            * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))
        )


class CausalSelfAttention(torch.nn.Module):
    def __init__(self, config):
        super().__init__()
        assert config.n_embd % config.n_head == 0
        self.c_attn = torch.nn.Linear(config.n_embd, 3 * config.n_embd)
        self.c_proj = torch.nn.Linear(config.n_embd, config.n_embd)
        self.register_buffer(
            "bias",
            torch.tril(torch.ones(config.block_size, config.block_size)).view(
                1, 1, config.block_size, config.block_size
            ),
        )
        self.n_head = config.n_head
        self.n_embd = config.n_embd

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
        att = torch.nn.functional.softmax(att, dim=-1)
        y = att @ v
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.c_proj(y)


class Block(torch.nn.Module):
    def __init__(self, config):
        super().__init__()
        self.ln_1 = torch.nn.LayerNorm(config.n_embd)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = torch.nn.LayerNorm(config.n_embd)
        self.mlp = torch.nn.ModuleDict(
            dict(
                c_fc=torch.nn.Linear(config.n_embd, 4 * config.n_embd),
                c_proj=torch.nn.Linear(4 * config.n_embd, config.n_embd),
                act=NewGELU(),
            )
        )
        m = self.mlp
        self.mlpf = lambda x: m.c_proj(m.act(m.c_fc(x)))

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        x = x + self.mlpf(self.ln_2(x))
        return x


class Transformer(torch.nn.Module):
    def __init__(self, config):
        super().__init__()
        self.block_size = config.block_size
        self.transformer = torch.nn.ModuleDict(
            dict(
                wte=torch.nn.Embedding(config.vocab_size, config.n_embd),
                wpe=torch.nn.Embedding(config.block_size, config.n_embd),
                h=torch.nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
                ln_f=torch.nn.LayerNorm(config.n_embd),
            )
        )
        self.lm_head = torch.nn.Linear(config.n_embd, config.vocab_size, bias=False)

    def get_block_size(self):
        return self.block_size

    def forward(self, idx, targets=None):
        device = idx.device
        b, t = idx.size()
        pos = torch.arange(0, t, dtype=torch.long, device=device).unsqueeze(0)
        tok_emb = self.transformer.wte(idx)
        pos_emb = self.transformer.wpe(pos)
        x = tok_emb + pos_emb
        for block in self.transformer.h:
            x = block(x)
        x = self.transformer.ln_f(x)
        logits = self.lm_head(x)
        loss = None
        if targets is not None:
            loss = torch.nn.functional.cross_entropy(
                logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1
            )
        return logits, loss


class MLP(torch.nn.Module):
    """Bengio et al. 2003: embed the previous block_size characters, concatenate, MLP."""

    def __init__(self, config):
        super().__init__()
        self.block_size = config.block_size
        self.vocab_size = config.vocab_size
        self.wte = torch.nn.Embedding(config.vocab_size + 1, config.n_embd)
        self.mlp = torch.nn.Sequential(
            torch.nn.Linear(self.block_size * config.n_embd, config.n_embd2),
            torch.nn.Tanh(),
            torch.nn.Linear(config.n_embd2, self.vocab_size),
        )

    def get_block_size(self):
        return self.block_size

    def forward(self, idx, targets=None):
        embs = []
        for k in range(self.block_size):
            tok_emb = self.wte(idx)
            idx = torch.roll(idx, 1, 1)
            idx[:, 0] = self.vocab_size
            embs.append(tok_emb)
        x = torch.cat(embs, -1)
        logits = self.mlp(x)
        loss = None
        if targets is not None:
            loss = torch.nn.functional.cross_entropy(
                logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1
            )
        return logits, loss


@torch.no_grad()
def generate(model, idx, max_new_tokens, temperature=1.0, do_sample=False, top_k=None):
    block_size = model.get_block_size()
    for _ in range(max_new_tokens):
        idx_cond = idx if idx.size(1) <= block_size else idx[:, -block_size:]
        logits, _ = model(idx_cond)
        logits = logits[:, -1, :] / temperature
        if top_k is not None:
            v, _ = torch.topk(logits, top_k)
            logits[logits < v[:, [-1]]] = -float("Inf")
        probs = torch.nn.functional.softmax(logits, dim=-1)
        if do_sample:
            idx_next = torch.multinomial(probs, num_samples=1)
        else:
            _, idx_next = torch.topk(probs, k=1, dim=-1)
        idx = torch.cat((idx, idx_next), dim=1)
    return idx


class CharDataset(torch.utils.data.Dataset):
    def __init__(self, words, chars, max_word_length):
        self.words = words
        self.chars = chars
        self.max_word_length = max_word_length
        self.stoi = {ch: i + 1 for i, ch in enumerate(chars)}
        self.itos = {i: s for s, i in self.stoi.items()}

    def __len__(self):
        return len(self.words)

    def get_vocab_size(self):
        return len(self.chars) + 1

    def get_output_length(self):
        return self.max_word_length + 1

    def encode(self, word):
        return torch.tensor([self.stoi[w] for w in word], dtype=torch.long)

    def decode(self, ix):
        return "".join(self.itos[i] for i in ix)

    def __getitem__(self, idx):
        word = self.words[idx]
        ix = self.encode(word)
        x = torch.zeros(self.max_word_length + 1, dtype=torch.long)
        y = torch.zeros(self.max_word_length + 1, dtype=torch.long)
        x[1 : 1 + len(ix)] = ix
        y[: len(ix)] = ix
        y[len(ix) + 1 :] = -1
        return x, y


def create_datasets(words):
    chars = sorted(list(set("".join(words))))
    max_word_length = max(len(w) for w in words)
    test_set_size = min(16, int(len(words) * 0.1))
    rp = np.random.default_rng(3).permutation(len(words)).tolist()
    train_words = [words[i] for i in rp[:-test_set_size]]
    test_words = [words[i] for i in rp[-test_set_size:]]
    return CharDataset(train_words, chars, max_word_length), CharDataset(
        test_words, chars, max_word_length
    )


class InfiniteDataLoader:
    def __init__(self, dataset, sequential=False, **kwargs):
        if sequential:
            sampler = torch.utils.data.SequentialSampler(dataset)
        else:
            sampler = torch.utils.data.RandomSampler(
                dataset, replacement=True, num_samples=int(1e10)
            )
        self.train_loader = torch.utils.data.DataLoader(dataset, sampler=sampler, **kwargs)
        self.data_iter = iter(self.train_loader)

    def next(self):
        try:
            batch = next(self.data_iter)
        except StopIteration:
            self.data_iter = iter(self.train_loader)
            batch = next(self.data_iter)
        return batch


@torch.inference_mode()
def evaluate(model, dataset, batch_size=50, max_batches=None):
    model.eval()
    loader = torch.utils.data.DataLoader(
        dataset, shuffle=False, batch_size=batch_size, num_workers=0
    )
    losses = []
    for i, batch in enumerate(loader):
        X, Y = batch
        logits, loss = model(X, Y)
        losses.append(loss.item())
        if max_batches is not None and i >= max_batches:
            break
    mean_loss = torch.tensor(losses).mean().item()
    model.train()
    return mean_loss


def set_weights(model, seed):
    state = {}
    for name, value in model.state_dict().items():
        rng = np.random.default_rng([seed, zlib.crc32(name.encode())])  # order-independent
        shape = tuple(value.shape)
        if name.endswith(".attn.bias"):  # the causal-mask buffer (not c_attn.bias)
            state[name] = value
            continue
        w = rng.standard_normal(shape) * (0.2 if len(shape) > 1 else 0.05)
        if (
            name.endswith("ln_1.weight")
            or name.endswith("ln_2.weight")
            or name.endswith("ln_f.weight")
        ):
            w = 1.0 + w
        state[name] = torch.from_numpy(w.astype(np.float32))
    model.load_state_dict(state)


def main(argv=None):
    parser = argparse.ArgumentParser(description="makemore-style")
    parser.add_argument("--type", type=str, default="transformer")
    parser.add_argument("--max-steps", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--learning-rate", type=float, default=5e-3)
    parser.add_argument("--weight-decay", type=float, default=0.01)
    parser.add_argument("--top-k", type=int, default=-1)
    parser.add_argument("--num-workers", type=int, default=0)
    parser.add_argument(
        "--sequential", action="store_true", help="fixed batch order (to compare runs)"
    )
    parser.add_argument("--seed", type=int, default=3407)
    args = parser.parse_args(argv)

    torch.manual_seed(args.seed)
    torch.cuda.manual_seed_all(args.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"

    train_dataset, test_dataset = create_datasets(WORDS)
    config = ModelConfig(
        vocab_size=train_dataset.get_vocab_size(), block_size=train_dataset.get_output_length()
    )
    model = Transformer(config) if args.type == "transformer" else MLP(config)
    set_weights(model, args.seed)
    model.to(device)
    optimizer = torch.optim.AdamW(
        model.parameters(),
        lr=args.learning_rate,
        weight_decay=args.weight_decay,
        betas=(0.9, 0.99),
        eps=1e-8,
    )
    batch_loader = InfiniteDataLoader(
        train_dataset,
        sequential=args.sequential,
        batch_size=args.batch_size,
        pin_memory=True,
        num_workers=args.num_workers,
    )
    losses = []
    for step in range(args.max_steps):
        batch = batch_loader.next()
        batch = [t.to(device) for t in batch]
        X, Y = batch
        logits, loss = model(X, Y)
        model.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    test_loss = evaluate(model, test_dataset, batch_size=10)
    top_k = args.top_k if args.top_k != -1 else None
    X_init = torch.zeros(4, 1, dtype=torch.long).to(device)
    greedy = generate(model, X_init, 6, top_k=top_k, do_sample=False)[:, 1:].tolist()
    sampled = generate(model, X_init, 6, top_k=3, do_sample=True)[:, 1:].tolist()
    return {
        "losses": losses,
        "test_loss": test_loss,
        "greedy": greedy,
        "sampled": sampled,
        "vocab_size": config.vocab_size,
        "sample_words": [train_dataset.decode([i for i in row if i > 0]) for row in sampled],
    }


if __name__ == "__main__":
    print(main())
