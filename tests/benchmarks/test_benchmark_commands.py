"""The benchmark commands live in the benchmarks app, under their old names."""

from __future__ import annotations

from django.core.management import get_commands

BENCHMARK_COMMANDS = (
    "benchmark",
    "benchmark_api",
    "benchmark_batch",
    "benchmark_budget",
    "benchmark_load",
)


def test_every_benchmark_command_comes_from_the_benchmarks_app():
    commands = get_commands()

    assert {name: commands.get(name) for name in BENCHMARK_COMMANDS} == dict.fromkeys(
        BENCHMARK_COMMANDS, "benchmarks"
    )
    assert not [name for name, app in commands.items() if app == "conversions" and "bench" in name]
