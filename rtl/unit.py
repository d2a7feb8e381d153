"""The instruction sequence every load, compute and store unit runs (as tlm/unit.py does
for the timing model):

IDLE -> TOK: take an instruction from the command queue.
TOK -> RUN: in the cycle every token the instruction pops is present, pop them and pulse
  ``go`` (the unit starts its engine); 1 cycle if the tokens are there.
RUN -> retire: in the cycle the unit reports ``done`` and every queue the instruction
  pushes to has room, push the tokens and pulse ``retire``; in the same cycle take the
  next instruction from the command queue (-> TOK), or go IDLE if it is empty.

So an instruction costs TOK + engine + retire, 2 fixed cycles. ``busy`` is 1 from TOK to
retire (waiting for tokens included).
"""
from __future__ import annotations

from myhdl import Signal, always, always_comb, block, enum


@block
def token_pop(go, flag, q, present):
    """One queue the instruction may pop from (``flag``: its pop bit)."""

    @always_comb
    def comb():
        present.next = flag == 0 or q.nonempty
        q.pop.next = go and flag == 1

    return comb


@block
def token_push(retire, flag, q, room):
    """One queue the instruction may push to (``flag``: its push bit)."""

    @always_comb
    def comb():
        room.next = flag == 0 or q.notfull
        q.push.next = retire and flag == 1

    return comb


@block
def all_of(bits, out):
    """out = AND of one or two bools (a unit has one or two neighbours)."""
    if len(bits) == 1:
        (a,) = bits

        @always_comb
        def one():
            out.next = a
        return one
    a, b = bits

    @always_comb
    def two():
        out.next = a and b
    return two


@block
def unit_control(clk, rst, cmd, insn, pops, pushes, done, go, retire, busy):
    """Sequence the instructions of ``cmd`` (a CommandQueue) into the register ``insn``.

    ``pops`` / ``pushes``: ((flag, TokenQueue), ...) for the queues to the unit's
    neighbours, flag = the instruction's pop/push bit for that queue. ``done``: the unit's
    engine has finished the instruction (looked at in RUN only).
    """
    st = enum("IDLE", "TOK", "RUN")
    state = Signal(st.IDLE)
    tok_ok, push_ok = Signal(bool(0)), Signal(bool(0))
    present = [Signal(bool(0)) for _ in pops]
    room = [Signal(bool(0)) for _ in pushes]
    gates = ([token_pop(go, flag, q, ok) for (flag, q), ok in zip(pops, present)]
             + [token_push(retire, flag, q, ok) for (flag, q), ok in zip(pushes, room)])
    tokens = all_of(present, tok_ok)
    space = all_of(room, push_ok)

    @always_comb
    def step():
        go.next = state == st.TOK and tok_ok
        retire.next = state == st.RUN and done and push_ok
        cmd.pop.next = (state == st.IDLE or (state == st.RUN and done and push_ok)) and cmd.valid
        busy.next = state != st.IDLE

    @always(clk.posedge)
    def fsm():
        if rst:
            state.next = st.IDLE
        elif state == st.IDLE:
            if cmd.valid:
                insn.next = cmd.insn
                state.next = st.TOK
        elif state == st.TOK:
            if tok_ok:
                state.next = st.RUN
        elif retire:
            if cmd.valid:
                insn.next = cmd.insn
                state.next = st.TOK
            else:
                state.next = st.IDLE

    return gates, tokens, space, step, fsm
