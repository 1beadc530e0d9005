"""``abi devices``: the OpenCL platforms and devices this machine offers."""

from __future__ import annotations

import click

from abi.cli.common import emit_json


@click.command("devices")
@click.option("--json", "as_json", is_flag=True, help="Print every property as JSON.")
def devices(as_json: bool = False) -> None:
    """List OpenCL platforms and their devices (numpy is used where there are none)."""
    from abi.compute.devices import NO_OPENCL_HINT, platforms_summary

    platforms = platforms_summary()
    if as_json:
        emit_json({"platforms": platforms})
        return
    if not platforms:
        click.echo(NO_OPENCL_HINT)
        return
    for plat in platforms:
        click.echo(f"platform {plat['index']}: {plat['name']} ({plat['version']})")
        for dev in plat["devices"]:
            gib = dev["global_mem_bytes"] / 2**30
            fp16 = "fp16" if dev["fp16"] else "no fp16"
            click.echo(
                f"  [{dev['id']}] {dev['type']:<4} {dev['name']}: {dev['compute_units']} "
                f"compute units @ {dev['max_clock_mhz']} MHz, {gib:.1f} GiB, {fp16}, "
                f"driver {dev['driver_version']}"
            )
