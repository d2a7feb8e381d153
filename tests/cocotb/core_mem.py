"""Behavioural DRAM for the core's request/data ports (stands in for the AXI master).

Each read port is served on its own (no shared arbiter): one request at a time,
``latency`` cycles from the request handshake to the first beat, then one beat per
cycle while the core is ready. The write port accepts one request at a time, takes
its beats, and pulses wr_done ``wr_latency`` cycles after the last beat. Signals are
sampled at the falling edge (everything has settled) and driven after the rising
edge, so a handshake is seen identically by the model and the core.
"""
from __future__ import annotations

import random
from collections import deque

import cocotb
from cocotb.triggers import FallingEdge, RisingEdge


class Dram:
    def __init__(self, dut, cfg, size=1 << 20, latency=8, wr_latency=4, stall=0.0, seed=0):
        self.dut, self.cfg = dut, cfg
        # probability that a port inserts a wait cycle (beat gaps, late ready)
        self.stall, self.rng = stall, random.Random(seed)
        self.mem = bytearray(size)
        self.latency, self.wr_latency = latency, wr_latency
        self.bb = cfg.bus_bytes
        self.reads = [0, 0, 0]     # beats served per read port
        self.writes = 0
        self.log = []              # (port, addr, beats) of every request

    def start(self):
        for n in range(3):
            cocotb.start_soon(self._read_port(n))
        cocotb.start_soon(self._write_port())

    def _stall(self):
        return self.stall > 0 and self.rng.random() < self.stall

    def beat(self, addr):
        if addr + self.bb > len(self.mem):
            raise AssertionError(f"read past the model DRAM at {addr:#x}")
        return int.from_bytes(self.mem[addr:addr + self.bb], "little")

    async def _read_port(self, n):
        d = self.dut
        sig = {s: getattr(d, f"rd{n}_{s}") for s in
               ("req_valid", "req_ready", "req_addr", "req_beats", "data_valid", "data", "data_ready")}
        sig["req_ready"].value = 1
        sig["data_valid"].value = 0
        sig["data"].value = 0
        cur = None          # [addr, beats left, wait]
        while True:
            await FallingEdge(d.clk)
            req_hs = bool(sig["req_valid"].value) and bool(sig["req_ready"].value)
            data_hs = bool(sig["data_valid"].value) and bool(sig["data_ready"].value)
            if req_hs:
                addr, beats = int(sig["req_addr"].value), int(sig["req_beats"].value)
                assert addr % self.bb == 0, f"rd{n}: unaligned address {addr:#x}"
                assert beats >= 1, f"rd{n}: request of {beats} beats"
            await RisingEdge(d.clk)
            if req_hs:
                self.log.append((n, addr, beats))
                cur = [addr, beats, self.latency]
            if data_hs:
                self.reads[n] += 1
                cur[0] += self.bb
                cur[1] -= 1
                if cur[1] == 0:
                    cur = None
            if cur is not None and cur[2] > 0:
                cur[2] -= 1
            if cur is not None and cur[2] == 0 and not self._stall():
                sig["data_valid"].value = 1
                sig["data"].value = self.beat(cur[0])
            else:
                sig["data_valid"].value = 0
            sig["req_ready"].value = int(cur is None and not self._stall())

    async def _write_port(self):
        d = self.dut
        sig = {s: getattr(d, f"wr_{s}") for s in
               ("req_valid", "req_ready", "req_addr", "req_beats", "data_valid", "data_ready",
                "data", "done")}
        sig["req_ready"].value = 1
        sig["data_ready"].value = 0
        sig["done"].value = 0
        cur = None
        acks = deque()      # cycles until each wr_done pulse
        while True:
            await FallingEdge(d.clk)
            req_hs = bool(sig["req_valid"].value) and bool(sig["req_ready"].value)
            data_hs = bool(sig["data_valid"].value) and bool(sig["data_ready"].value)
            if req_hs:
                addr, beats = int(sig["req_addr"].value), int(sig["req_beats"].value)
                assert addr % self.bb == 0 and beats >= 1, (addr, beats)
            if data_hs:
                val = int(sig["data"].value)
            await RisingEdge(d.clk)
            sig["done"].value = 0
            if acks:
                for i in range(len(acks)):
                    acks[i] -= 1
                if acks[0] <= 0:
                    acks.popleft()
                    sig["done"].value = 1
            if req_hs:
                self.log.append(("wr", addr, beats))
                cur = [addr, beats]
            if data_hs:
                self.mem[cur[0]:cur[0] + self.bb] = val.to_bytes(self.bb, "little")
                self.writes += 1
                cur[0] += self.bb
                cur[1] -= 1
                if cur[1] == 0:
                    cur = None
                    acks.append(self.wr_latency)
            sig["req_ready"].value = int(cur is None and not self._stall())
            sig["data_ready"].value = int(cur is not None and not self._stall())
