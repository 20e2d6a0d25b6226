"""The trainer loop with a real tiny model: engine log-probs, multi-turn masks, records, resume,
variants."""

from __future__ import annotations

import json

import pytest
import torch
from rl_test_envs import AlternatingEnv, DigitEnv, EchoToolEnv, FlatOrMixedEnv

from rl.checkpoint import latest_checkpoint, read_state
from rl.config import GRPOConfig
from rl.engines.base import RolloutEngine, SamplingParams
from rl.engines.hf import HFEngine
from rl.metrics import read_metrics
from rl.rollout_records import passing_completions, read_records
from rl.trainer import GRPOTrainer


def _cfg(path, out, **kw):
    base = dict(
        model=path,
        group_size=4,
        prompts_per_step=2,
        micro_batch_size=4,
        max_new_tokens=2,
        steps=2,
        lr=1e-2,
        output_dir=str(out),
        progress=False,
        tensorboard=False,
        record_format="jsonl",
    )
    return GRPOConfig(**{**base, **kw})


def _train(cfg, env_factory=DigitEnv, resume=False, **env_kw):
    return GRPOTrainer(
        cfg, envs=[env_factory(**env_kw) for _ in range(cfg.batch_episodes)], resume=resume
    )


def test_hf_engine_returns_sampler_logprobs_matching_the_policy(tiny_policy):
    model, tok = tiny_policy
    engine = HFEngine(model, tok)
    assert isinstance(engine, RolloutEngine)
    groups = engine.generate(
        ["1=", [5, 13]], SamplingParams(n=3, max_tokens=3, temperature=0.7, seed=1)
    )
    assert [len(g) for g in groups] == [3, 3]
    for c in groups[0] + groups[1]:
        assert len(c.token_ids) == len(c.logprobs) and 1 <= len(c.token_ids) <= 3
        assert c.finish_reason == ("stop" if c.token_ids[-1] == tok.eos_token_id else "length")
        ids = torch.tensor([list(c.prompt_token_ids) + list(c.token_ids)])
        with torch.no_grad():
            logits = model(ids).logits[0, len(c.prompt_token_ids) - 1 : -1] / 0.7
        policy = (
            torch.log_softmax(logits, -1)
            .gather(-1, torch.tensor(c.token_ids).unsqueeze(-1))
            .squeeze(-1)
        )
        assert torch.allclose(policy, torch.tensor(c.logprobs), atol=1e-4)


def test_training_step_logs_every_metric_and_records_groups(tiny_model_path, tmp_path):
    cfg = _cfg(tiny_model_path, tmp_path, tensorboard=True, beta=0.05)
    history = _train(cfg).train()
    rows = read_metrics(tmp_path / "metrics.jsonl")
    assert [r["step"] for r in rows] == [0, 1] and len(history) == 2
    for key in (
        "reward_mean",
        "reward_std",
        "zero_std_fraction",
        "kl",
        "clip_fraction",
        "entropy",
        "completion_len_mean",
        "logprob_gap",
        "tokens_per_s",
        "t_generate",
        "t_grade",
        "t_update",
        "reward_mean/digit@1",
    ):
        assert key in rows[0], key
    assert rows[0]["logprob_gap"] < 1e-4  # the HF sampler is the policy: no stale weights
    assert sum(v for k, v in rows[0].items() if k.startswith("status/")) == cfg.batch_episodes
    assert list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))
    records = read_records(tmp_path / "rollouts.jsonl")
    assert len(records) == 4 and records[0]["step"] == 0 and len(records[0]["completions"]) == 4
    comp = records[0]["completions"][0]
    verdict = comp["verdicts"][0]  # the env's own verdict mapping, key for key
    assert verdict == {
        "status": verdict["status"],
        "score": float(verdict["status"] == "pass"),
        "verifier": "digit",
        "verifier_version": 1,
    }
    assert records[0]["verifiers"] == ["digit@1"] and records[0]["sampling"]["n"] == 4
    assert len(comp["logprobs"]) == len(comp["token_ids"]) == len(comp["loss_mask"])
    assert "reward_std/digit@1" in rows[0]
    sft = passing_completions(records)
    assert all(r["completion"].strip() == "7" and r["prompt"] == "1=" for r in sft)
    assert len(sft) == len({r["completion"] for r in sft})


def test_parquet_records_round_trip(tiny_model_path, tmp_path):
    _train(_cfg(tiny_model_path, tmp_path, record_format="parquet", steps=1)).train()
    records = read_records(tmp_path / "rollouts")
    assert len(records) == 2 and records[1]["group"] == 1 and len(records[1]["completions"]) == 4


def test_multi_turn_environment_tokens_are_masked_out(tiny_model_path, tmp_path):
    cfg = _cfg(tiny_model_path, tmp_path, steps=1, max_turns=3)
    _train(cfg, EchoToolEnv).train()
    for record in read_records(tmp_path / "rollouts.jsonl"):
        for comp in record["completions"]:
            mask, ids = comp["loss_mask"], comp["token_ids"]
            # turn 1 (policy, <= 2 tokens) | "+?+" from the env (masked) | turn 2 (policy)
            n1 = len(ids) - mask[::-1].index(0) - 3 if 0 in mask else None
            assert n1 is not None, "the environment's tool text must appear with mask 0"
            assert mask[n1 : n1 + 3] == [0, 0, 0] and all(mask[:n1]) and all(mask[n1 + 3 :])
            assert all(lp == 0.0 for lp, m in zip(comp["logprobs"], mask) if not m)


def test_resume_reaches_the_same_state(tiny_model_path, tmp_path):
    straight = _train(_cfg(tiny_model_path, tmp_path / "a", steps=4, mu=2))
    straight.train()
    first = _train(_cfg(tiny_model_path, tmp_path / "b", steps=2, mu=2))
    first.train()
    resumed = _train(_cfg(tiny_model_path, tmp_path / "b", steps=4, mu=2), resume=True)
    assert resumed.step == 2
    resumed.train()
    for (name, a), b in zip(
        straight.policy.state_dict().items(), resumed.policy.state_dict().values()
    ):
        assert torch.equal(a, b), name
    rows_a, rows_b = (
        read_metrics(tmp_path / "a" / "metrics.jsonl"),
        read_metrics(tmp_path / "b" / "metrics.jsonl"),
    )
    assert [r["reward_mean"] for r in rows_a] == [r["reward_mean"] for r in rows_b]
    state = read_state(latest_checkpoint(tmp_path / "b"))
    assert state["step"] == 4 and state["config"]["mu"] == 2 and state["verifiers"] == ["digit@1"]


def test_resuming_a_checkpoint_from_before_a_new_setting_warns_only_about_real_changes(
    tiny_model_path, tmp_path
):
    import warnings

    _train(_cfg(tiny_model_path, tmp_path, steps=1)).train()
    state_file = latest_checkpoint(tmp_path) / "state.json"
    state = json.loads(state_file.read_text())
    del state["config"]["disable_dropout"]  # a checkpoint written before the setting existed
    state_file.write_text(json.dumps(state))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the setting at its default is no change
        resumed = _train(_cfg(tiny_model_path, tmp_path, steps=2), resume=True)
    resumed.close()
    assert resumed.step == 1
    with pytest.warns(UserWarning, match=r"changed settings \['disable_dropout'\]"):
        _train(_cfg(tiny_model_path, tmp_path, steps=2, disable_dropout=False), resume=True).close()


def test_dynamic_sampling_drops_flat_groups_and_refills(tiny_model_path, tmp_path):
    # half the prompts always give a flat group, the other half always a mixed one: with 4 steps of
    # 2 draws or more, a run that drops nothing has probability below 2**-8 whatever the seeds
    cfg = _cfg(
        tiny_model_path,
        tmp_path,
        steps=4,
        dynamic_sampling=True,
        max_refill_rounds=10,
        loss="dapo",
        clip_eps_high=0.28,
        max_new_tokens=1,
    )
    rows = _train(cfg, env_factory=FlatOrMixedEnv).train()
    assert sum(r["dropped_groups"] for r in rows) > 0
    assert all(r["zero_std_fraction"] == 0.0 and r["reward_mean"] == 0.5 for r in rows)


def test_hybrid_sft_trains_failed_groups_on_the_demonstration(tiny_model_path, tmp_path):
    cfg = _cfg(tiny_model_path, tmp_path, steps=3, sft_gate=0.0, max_new_tokens=1, lr=5e-2)
    trainer = _train(cfg, gold=("7",))
    rows = trainer.train()
    assert rows[0]["sft_groups"] >= 1 and rows[0]["sft_loss"] > 0
    ids = torch.tensor([trainer.tokenizer("1=", add_special_tokens=False).input_ids])
    with torch.no_grad():
        probs = torch.softmax(trainer.policy(ids).logits[0, -1], -1)
    seven = trainer.tokenizer.convert_tokens_to_ids("7")
    assert probs[seven] > 0.2  # a random init gives ~1/17; three SFT steps on "7" raise it


def test_p3o_training_is_invariant_to_a_constant_reward_shift(tiny_model_path, tmp_path):
    final = []
    for shift in (0.0, 5.0):
        cfg = _cfg(
            tiny_model_path, tmp_path / str(shift), loss="p3o", steps=3, max_new_tokens=1, mu=2
        )
        trainer = _train(cfg, shift=shift)
        trainer.train()
        final.append(trainer.policy.state_dict())
    for name, a in final[0].items():
        assert torch.allclose(a, final[1][name], atol=1e-6), name
    trainer0 = _train(_cfg(tiny_model_path, tmp_path / "init", steps=0))
    moved = any(not torch.equal(v, final[0][k]) for k, v in trainer0.policy.state_dict().items())
    assert moved, "p3o must have changed the policy for the invariance to mean anything"


def test_metrics_rows_are_json_lines(tiny_model_path, tmp_path):
    _train(_cfg(tiny_model_path, tmp_path, steps=1)).train()
    line = (tmp_path / "metrics.jsonl").read_text().splitlines()[0]
    assert json.loads(line)["step"] == 0


@pytest.mark.parametrize("loss", ["grpo", "dr_grpo", "dapo", "gspo", "p3o"])
def test_every_loss_runs_a_step_with_kl_and_tis(tiny_model_path, tmp_path, loss):
    cfg = _cfg(
        tiny_model_path,
        tmp_path,
        loss=loss,
        steps=1,
        beta=0.1,
        kl_estimator="k2",
        mu=2,
        tis_cap=1.5,
    )
    rows = _train(cfg).train()
    assert rows[0]["grad_norm"] >= 0 and rows[0]["kl"] >= 0


def test_long_prompts_are_read_once_per_group_and_match_the_sampler(
    tiny_model_path, tmp_path, monkeypatch
):
    import rl.packing

    calls = []
    real = rl.packing.shared_prefix_logits
    monkeypatch.setattr(
        rl.packing, "shared_prefix_logits", lambda *a: calls.append(a[3]) or real(*a)
    )
    prompts = ("1234567890" * 4 + "=", "98765=" * 5)  # 41 and 30 tokens
    cfg = _cfg(
        tiny_model_path,
        tmp_path,
        steps=2,
        group_size=4,
        prompts_per_step=2,
        micro_batch_size=8,
        max_new_tokens=3,
    )
    rows = _train(cfg, prompts=prompts).train()
    # one run per distinct prompt in the micro-batch (two groups that drew the same prompt share one
    # run)
    assert len(calls) == 2 and all(
        sum(g.rows for g in groups) == 8 and len(groups) <= 2 for groups in calls
    )
    # the shared-prompt forward gives the sampler's log-probs
    assert all(r["logprob_gap"] < 1e-4 for r in rows)


class NaNLogprobEngine(HFEngine):
    """The real HF engine, except that it reports NaN for the first token's log-prob (as vLLM
    can)."""

    def generate(self, prompts, params):
        import dataclasses

        groups = super().generate(prompts, params)
        return [
            [dataclasses.replace(c, logprobs=(float("nan"),) + tuple(c.logprobs[1:])) for c in g]
            for g in groups
        ]


def test_nan_sampler_logprobs_are_neither_trained_on_nor_recorded_as_nan(tiny_policy, tmp_path):
    model, tok = tiny_policy
    cfg = _cfg(model.name_or_path, tmp_path, steps=2, tis_cap=2.0)
    envs = [DigitEnv() for _ in range(cfg.batch_episodes)]
    rows = GRPOTrainer(
        cfg, policy=model, tokenizer=tok, engine=NaNLogprobEngine(model, tok), envs=envs
    ).train()
    assert all(r["sampler_logprob_nonfinite"] == cfg.batch_episodes for r in rows)
    assert all(
        torch.isfinite(torch.tensor([r["loss"], r["grad_norm"], r["logprob_gap"]])).all()
        for r in rows
    )
    assert all(r["logprob_gap"] < 1e-4 for r in rows)  # the other tokens still match the policy

    def strict(token):
        raise ValueError(f"non-JSON constant {token}")

    for line in (tmp_path / "rollouts.jsonl").read_text().splitlines():
        record = json.loads(line, parse_constant=strict)
        assert all(c["logprobs"][0] is None for c in record["completions"])


def test_nan_sampler_logprobs_are_null_in_parquet_records_too(tiny_policy, tmp_path):
    import pyarrow.parquet as pq

    model, tok = tiny_policy
    cfg = _cfg(model.name_or_path, tmp_path, steps=1, record_format="parquet")
    envs = [DigitEnv() for _ in range(cfg.batch_episodes)]
    GRPOTrainer(
        cfg, policy=model, tokenizer=tok, engine=NaNLogprobEngine(model, tok), envs=envs
    ).train()
    (part,) = (tmp_path / "rollouts").glob("step-*.parquet")
    for text in pq.read_table(part).column("completions").to_pylist():
        assert "NaN" not in text and all(c["logprobs"][0] is None for c in json.loads(text))


class StaleEngine(HFEngine):
    """The real HF engine on its own copy of the model whose weight sync silently does nothing."""

    def load_weights(self, state_dict):
        pass

    def sync(self, policy):
        pass


def test_a_gap_jump_after_syncs_that_do_nothing_is_flagged_once(tiny_policy, tmp_path):
    import copy

    model, tok = tiny_policy
    cfg = _cfg(model.name_or_path, tmp_path, steps=8, lr=0.3, max_new_tokens=3)
    envs = [DigitEnv() for _ in range(cfg.batch_episodes)]
    trainer = GRPOTrainer(
        cfg, policy=model, tokenizer=tok, engine=StaleEngine(copy.deepcopy(model), tok), envs=envs
    )
    trainer.gap_watch.warmup = 1  # the first step's gap (before any update: ~0) is the baseline
    with pytest.warns(RuntimeWarning, match=r"may be sampling with stale weights") as caught:
        rows = trainer.train()
    assert rows[0]["logprob_gap"] < 1e-4 and any(r["logprob_gap_jump"] for r in rows)
    assert sum("stale weights" in str(w.message) for w in caught) == 1


def test_a_synced_engine_raises_no_gap_flag(tiny_model_path, tmp_path):
    import warnings

    cfg = _cfg(tiny_model_path, tmp_path, steps=6, lr=0.3, max_new_tokens=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        rows = _train(cfg).train()
    assert not any(r["logprob_gap_jump"] for r in rows)


class ScriptedTokenEngine(RolloutEngine):
    """Test engine: replies with scripted texts, tokenised with the real tokenizer
    (log-probs -1)."""

    name = "scripted"

    def __init__(self, tokenizer, replies):
        self.tokenizer, self.replies, self.calls = tokenizer, list(replies), 0

    def generate(self, prompts, params):
        from rl.engines.base import Completion

        text = self.replies[min(self.calls, len(self.replies) - 1)]
        self.calls += 1
        ids = tuple(self.tokenizer(text, add_special_tokens=False).input_ids) + (
            self.tokenizer.eos_token_id,
        )
        return [
            [Completion(text, ids, tuple(-1.0 for _ in ids)) for _ in range(params.n)]
            for _ in prompts
        ]

    def load_weights(self, state_dict):
        pass


def test_real_tool_call_env_masks_the_tool_message(tmp_path):
    import envs
    from rl.rollout import EpisodeRunner, make_envs
    from rl.tiny import build_char_tokenizer

    task = {
        "id": "w",
        "prompt": "High in Oslo on 2026-01-05?",
        "reference": {
            "environment": {
                "api": "weather",
                "state": {"forecasts": {"Oslo": {"2026-01-05": {"high_c": -3}}}},
            },
            "expected_calls": [
                {"name": "get_forecast", "arguments": {"city": "Oslo", "date": "2026-01-05"}}
            ],
            "answer_contains": ["-3"],
        },
    }
    envs.register_env(
        "rlvrtest/Weather-v0",
        verifier="tool_call@1",
        tasks=[task],
        kind="multi_turn_tools",
        replace=True,
    )
    tok = build_char_tokenizer()
    call = (
        '<tool_call>{"name": "get_forecast", '
        '"arguments": {"city": "Oslo", "date": "2026-01-05"}}</tool_call>'
    )
    engine = ScriptedTokenEngine(tok, [call, "It will be -3 C."])
    runner = EpisodeRunner(make_envs("rlvrtest/Weather-v0", 2, {}), engine, tok, max_turns=4)
    group = runner.run([0], SamplingParams(n=2, max_tokens=200))[0]
    for e in group:
        assert e.reward == 1.0 and e.verdicts[-1].passed and not e.truncated
        policy = tok.decode(
            [t for t, m in zip(e.tokens, e.loss_mask) if m], skip_special_tokens=True
        )
        env_text = tok.decode(
            [t for t, m in zip(e.tokens, e.loss_mask) if not m], skip_special_tokens=True
        )
        assert policy == call + "It will be -3 C."
        assert env_text and "-3" in env_text and call not in env_text  # the tool result, masked


@pytest.mark.parametrize("disable_dropout", [True, False])
def test_a_model_with_dropout_is_scored_like_the_sampler_scores_it(
    tiny_model_path, tmp_path, disable_dropout
):
    """GPT-2 (absolute positions, dropout 0.1, not a lean architecture: HF's forward on both
    sides)."""
    import transformers

    tok = transformers.AutoTokenizer.from_pretrained(tiny_model_path, local_files_only=True)
    config = transformers.GPT2Config(
        n_embd=32,
        n_layer=2,
        n_head=4,
        n_positions=64,
        vocab_size=len(tok),
        pad_token_id=tok.pad_token_id,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
    )
    torch.manual_seed(0)
    model = transformers.GPT2LMHeadModel(config)
    cfg = _cfg(
        tiny_model_path, tmp_path, steps=2, max_new_tokens=4, disable_dropout=disable_dropout
    )
    trainer = GRPOTrainer(
        cfg,
        policy=model,
        tokenizer=tok,
        envs=[DigitEnv(prompts=("1=", "12=")) for _ in range(cfg.batch_episodes)],
    )
    rows = trainer.train()
    if disable_dropout:
        assert all(m.p == 0.0 for m in model.modules() if isinstance(m, torch.nn.Dropout))
        # the trainer's log-probs are the sampler's
        assert max(r["logprob_gap"] for r in rows) < 1e-5
    else:
        # dropout in training: a different network
        assert min(r["logprob_gap"] for r in rows) > 1e-3


def test_the_optimiser_steps_with_the_scheduled_learning_rate(tiny_model_path, tmp_path):
    cfg = _cfg(
        tiny_model_path,
        tmp_path,
        steps=3,
        lr=1e-2,
        warmup_steps=4,
        max_grad_norm=None,
        max_new_tokens=3,
    )
    trainer = _train(cfg, AlternatingEnv)
    before = [p.detach().clone() for p in trainer.policy.parameters()]
    first = trainer.train_step()
    assert first["lr"] == pytest.approx(2.5e-3) and first["grad_norm"] > 0
    # AdamW's first step moves no weight by more than the learning rate, and the ones with a clear
    # gradient by almost exactly that much: the step used the warm-up rate, not cfg.lr
    moved = max(
        float((p.detach() - b).abs().max()) for p, b in zip(trainer.policy.parameters(), before)
    )
    assert 0.9 * 2.5e-3 < moved <= 2.5e-3 * 1.0001
    assert [trainer.train_step()["lr"] for _ in range(2)] == pytest.approx([5e-3, 7.5e-3])
    trainer.close()


def test_a_context_past_learned_positions_is_a_clear_error(tiny_model_path, tiny_policy):
    import transformers

    from rl.engines.hf import learned_position_limit
    from rl.errors import RolloutError

    llama, tok = tiny_policy
    assert learned_position_limit(llama) is None  # RoPE: no table to run past
    common = dict(vocab_size=len(tok), pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
    gpt2 = transformers.GPT2LMHeadModel(
        transformers.GPT2Config(n_embd=32, n_layer=1, n_head=4, n_positions=16, **common)
    )
    opt = transformers.OPTForCausalLM(
        transformers.OPTConfig(
            hidden_size=32,
            num_hidden_layers=1,
            ffn_dim=64,
            num_attention_heads=4,
            max_position_embeddings=16,
            word_embed_proj_dim=32,
            **common,
        )
    )
    assert learned_position_limit(gpt2) == ("transformer.wpe", 16)
    # OPT's table has 2 extra rows
    assert learned_position_limit(opt) == ("model.decoder.embed_positions", 16)
    for model in (gpt2, opt):
        engine = HFEngine(model, tok)
        # 16 positions: fits
        assert len(engine.generate(["1" * 12], SamplingParams(n=2, max_tokens=4))[0]) == 2
        with pytest.raises(
            RolloutError,
            match=r"a prompt of 13 tokens plus max_new_tokens=4 needs 17 positions, "
            r"but the model learned 16 .*lower max_new_tokens",
        ):
            engine.generate(["1" * 13], SamplingParams(n=2, max_tokens=4))
