// AXI4 slave RAM for the fast simulation mode (vta.cosim.fastsim): the DRAM lives inside the
// simulation. Plain Verilog-2005 (Icarus and Verilator run it); behaviour model, not for synthesis.
//
// Cycle for cycle the memory of the cocotb testbench (vta.cosim.simtb: cocotbext-axi AxiRam +
// add_latency + add_bandwidth), so both modes give the same cycle counts. That model, in
// clock-edge terms (all outputs are registers, as a Python driver's writes are):
//  - AR: ARREADY low while AR_LIMIT requests wait (64 with latency, 2 without); an accepted AR
//    is due `latency` edges after its handshake. One reader serves the ARs in order: from the
//    due edge on it puts beats into a 2-entry R queue; R is driven from that queue, so the
//    first R beat is valid one edge after the due edge and bursts stream back to back.
//  - W: the writer takes an AW, then its W beats (AW and W queues of 2, so WREADY drops only
//    when two W beats wait for their AW); B is queued `latency` edges after the last W beat and
//    driven one edge later (B queue of 2).
//  - bytes_per_cycle below a beat per cycle: a credit counter (same float arithmetic as
//    add_bandwidth's generator) pauses R and W in the cycles without a full beat of credit.
//    Only here the two modes may differ by a few cycles (see the counter below).
//  - out-of-range addresses answer SLVERR (reads return zeros), as AxiRam does.
// Latency, limit and bandwidth are run-time inputs, so one build serves every dram setting.
`timescale 1ns / 1ps
module vta_axi_ram #(
    parameter DATA_BITS = 64,
    parameter ADDR_BITS = 32,
    parameter WORDS = 1024          // memory size in bus words (cfg.dram_bytes / bus bytes)
) (
    input  wire                   clk,
    input  wire                   rst,
    input  wire [31:0]            latency,      // cycles (cfg dram.latency)
    // AW
    input  wire [ADDR_BITS-1:0]   awaddr,
    input  wire [7:0]             awlen,
    input  wire                   awvalid,
    output reg                    awready,
    // W
    input  wire [DATA_BITS-1:0]   wdata,
    input  wire [DATA_BITS/8-1:0] wstrb,
    input  wire                   wlast,
    input  wire                   wvalid,
    output reg                    wready,
    // B
    output reg  [1:0]             bresp,
    output reg                    bvalid,
    input  wire                   bready,
    // AR
    input  wire [ADDR_BITS-1:0]   araddr,
    input  wire [7:0]             arlen,
    input  wire                   arvalid,
    output reg                    arready,
    // R
    output reg  [DATA_BITS-1:0]   rdata,
    output reg  [1:0]             rresp,
    output reg                    rlast,
    output reg                    rvalid,
    input  wire                   rready
);
    localparam BB = DATA_BITS / 8;
    localparam LOG_BB = BB == 1 ? 0 : BB == 2 ? 1 : BB == 4 ? 2 : BB == 8 ? 3 : BB == 16 ? 4 :
                        BB == 32 ? 5 : BB == 64 ? 6 : 7;
    localparam ARQ = 64;            // AR entries (simtb.AR_QUEUE); a power of two
    localparam BQ = 256;            // B responses waiting out their latency
    localparam OKAY = 2'd0, SLVERR = 2'd2;

    reg [DATA_BITS-1:0] mem [0:WORDS-1];

    reg [63:0] cyc;                 // edges since reset: the time base of the due stamps

    // ---- reads
    reg [ADDR_BITS-1:0] arq_addr [0:ARQ-1];
    reg [7:0]           arq_len  [0:ARQ-1];
    reg [63:0]          arq_due  [0:ARQ-1];
    reg [6:0] arq_wp, arq_rp, arq_n;
    reg        rd_busy;             // the reader holds a burst
    reg        rd_wait;             // ... and waits for its latency to pass
    reg [ADDR_BITS-1:0] rd_addr;
    reg [8:0]  rd_left;
    reg [63:0] rd_due;
    reg [DATA_BITS-1:0] rq_data [0:1];
    reg        rq_last [0:1];
    reg [1:0]  rq_resp [0:1];
    reg        rq_rp;
    reg [1:0]  rq_n;

    // ---- writes
    reg [ADDR_BITS-1:0] aw_addr_q [0:1];
    reg [7:0]  aw_len_q [0:1];
    reg        awq_rp;
    reg [1:0]  awq_n;
    reg [DATA_BITS-1:0] wq_data [0:1];
    reg [BB-1:0] wq_strb [0:1];
    reg        wq_rp;
    reg [1:0]  wq_n;
    reg        wr_busy;
    reg [ADDR_BITS-1:0] wr_addr;
    reg [8:0]  wr_left;
    reg [1:0]  wr_resp;
    reg [63:0] bp_due [0:BQ-1];     // B responses on their way (later() in add_latency)
    reg [1:0]  bp_resp [0:BQ-1];
    reg [8:0]  bp_wp, bp_rp, bp_n;
    reg [1:0]  bq_resp [0:1];
    reg        bq_rp;
    reg [1:0]  bq_n;

    wire [31:0] ar_limit = latency != 0 ? ARQ : 2;
    // bandwidth (+vta_bpc=bytes per cycle): simtb.add_bandwidth's credit counter, one value
    // per cycle from time 0 on; `paused` is the value after the last edge, `pause_next` the
    // one this edge makes. Which of the two each channel sees depends on the order in which
    // cocotb runs the pause generator and the channel at an edge: R the older and W the newer
    // fits best (measured: equal cycles on most programs, a cycle or two off on some)
    real bpc, credit;
    reg  throttle = 1'b0, paused = 1'b0, pause_next;
    initial begin
        if ($value$plusargs("vta_bpc=%f", bpc)) throttle = bpc < BB;
        credit = 0.0;
        if (throttle) paused = credit_step(0);
    end

    // blocking temporaries of one edge
    integer k, i;
    reg [ADDR_BITS-LOG_BB-1:0] widx;
    reg [DATA_BITS-1:0] word;
    reg [1:0] resp;

    // X-free read (Icarus leaves never-written words X; the Python RAM reads them as 0)
    function [DATA_BITS-1:0] clean;
        input [DATA_BITS-1:0] w;
        integer b;
        begin
            for (b = 0; b < DATA_BITS; b = b + 1)
                clean[b] = w[b] === 1'b1;
        end
    endfunction

    function in_range;
        input [ADDR_BITS-1:0] a;
        begin
            in_range = (a >> LOG_BB) < WORDS;
        end
    endfunction

    // the DRAM image, written by fastsim.py (sparse @word records; the rest reads 0)
    reg [8*4096-1:0] image;
    initial if ($value$plusargs("vta_image=%s", image)) $readmemh(image, mem);
    reg trace;   // +vta_trace: print the handshakes (cycle, channels) for debugging
    initial trace = $test$plusargs("vta_trace");
    always @(posedge clk) if (trace && !rst && (arvalid && arready || rvalid && rready ||
                                              awvalid && awready || wvalid && wready ||
                                              bvalid && bready))
        $display("%0d%s%s%s%s%s", $time / 10, arvalid && arready ? " AR" : "",
                 rvalid && rready ? " R" : "", awvalid && awready ? " AW" : "",
                 wvalid && wready ? " W" : "", bvalid && bready ? " B" : "");

    // the reader puts the next beat of its burst into the R queue (if there is room)
    task read_beat;
        begin
            if (rd_busy && rq_n < 2) begin
                if (in_range(rd_addr)) begin
                    widx = rd_addr >> LOG_BB;
                    word = clean(mem[widx]);
                    resp = OKAY;
                end else begin
                    word = 0;
                    resp = SLVERR;
                end
                rq_data[rq_rp ^ rq_n[0]] = word;
                rq_resp[rq_rp ^ rq_n[0]] = resp;
                rq_last[rq_rp ^ rq_n[0]] = rd_left == 1;
                rq_n = rq_n + 1;
                rd_addr = rd_addr + BB;
                rd_left = rd_left - 1;
                if (rd_left == 0)
                    rd_busy = 1'b0;
            end
        end
    endtask

    // the reader: takes the next AR when idle; puts beats until the R queue is full, its
    // burst waits for its latency or no AR is left
    task reader_go;
        integer j;
        begin
            for (j = 0; j < 4; j = j + 1) begin
                if (!rd_busy && arq_n != 0) begin
                    rd_addr = arq_addr[arq_rp[5:0]];
                    rd_left = arq_len[arq_rp[5:0]] + 9'd1;
                    rd_due = arq_due[arq_rp[5:0]];
                    arq_rp = arq_rp + 1;
                    arq_n = arq_n - 1;
                    rd_busy = 1'b1;
                    rd_wait = rd_due > cyc;
                end
                if (!rd_wait)
                    read_beat;
            end
        end
    endtask

    // B responses whose latency is over join the B queue, in order, while it has room
    task bq_fill;
        integer j;
        begin
            for (j = 0; j < 2; j = j + 1)
                if (bp_n != 0 && bq_n < 2 && bp_due[bp_rp[7:0]] <= cyc) begin
                    bq_resp[bq_rp ^ bq_n[0]] = bp_resp[bp_rp[7:0]];
                    bq_n = bq_n + 1;
                    bp_rp = bp_rp + 1;
                    bp_n = bp_n - 1;
                end
        end
    endtask

    function credit_step;   // one value of the generator: 1 = pause this cycle
        input dummy;
        begin
            credit = credit + bpc;
            if (credit >= BB) begin
                credit = credit - BB;
                credit_step = 1'b0;
            end else
                credit_step = 1'b1;
        end
    endfunction

    always @(posedge clk) begin
        pause_next = throttle ? credit_step(0) : 1'b0;
        if (rst) begin
            cyc <= 0;
            arready <= 1'b0; awready <= 1'b0; wready <= 1'b0;
            rvalid <= 1'b0; bvalid <= 1'b0;
            rdata <= 0; rresp <= OKAY; rlast <= 1'b0; bresp <= OKAY;
            arq_wp = 0; arq_rp = 0; arq_n = 0; rd_busy = 1'b0; rd_wait = 1'b0; rq_rp = 0; rq_n = 0;
            awq_rp = 0; awq_n = 0; wq_rp = 0; wq_n = 0; wr_busy = 1'b0;
            bp_wp = 0; bp_rp = 0; bp_n = 0; bq_rp = 0; bq_n = 0;
        end else begin
            cyc <= cyc + 1;
            // -- timers due at this edge fire before the channels see it (as cocotb runs
            //    them): a reader waiting out a burst's latency, B responses
            if (rd_busy && rd_wait && rd_due <= cyc) begin
                rd_wait = 1'b0;
                reader_go;
            end
            bq_fill;
            // -- edge: the channel models sample their handshakes and drive the next beat
            if (arvalid && arready) begin
                arq_addr[arq_wp[5:0]] = araddr;
                arq_len[arq_wp[5:0]] = arlen;
                arq_due[arq_wp[5:0]] = cyc + latency;
                arq_wp = arq_wp + 1;
                arq_n = arq_n + 1;
            end
            arready <= arq_n < ar_limit;
            if (awvalid && awready) begin
                aw_addr_q[awq_rp ^ awq_n[0]] = awaddr;
                aw_len_q[awq_rp ^ awq_n[0]] = awlen;
                awq_n = awq_n + 1;
            end
            awready <= awq_n < 2;
            if (wvalid && wready) begin
                wq_data[wq_rp ^ wq_n[0]] = wdata;
                wq_strb[wq_rp ^ wq_n[0]] = wstrb;
                wq_n = wq_n + 1;
            end
            wready <= !(wq_n >= 2 || pause_next);
            if ((rvalid && rready) || !rvalid) begin
                if (rq_n != 0 && !paused) begin
                    rdata <= rq_data[rq_rp];
                    rlast <= rq_last[rq_rp];
                    rresp <= rq_resp[rq_rp];
                    rvalid <= 1'b1;
                    rq_rp = !rq_rp;
                    rq_n = rq_n - 1;
                end else
                    rvalid <= 1'b0;
            end
            if ((bvalid && bready) || !bvalid) begin
                if (bq_n != 0) begin
                    bresp <= bq_resp[bq_rp];
                    bvalid <= 1'b1;
                    bq_rp = !bq_rp;
                    bq_n = bq_n - 1;
                end else
                    bvalid <= 1'b0;
            end
            // -- then the reader and writer processes run on what the edge delivered; a burst
            //    taken now whose latency is not over waits for its timer (above)
            reader_go;
            for (k = 0; k < 4; k = k + 1) begin
                if (!wr_busy && awq_n != 0) begin
                    wr_addr = aw_addr_q[awq_rp];
                    wr_left = aw_len_q[awq_rp] + 9'd1;
                    wr_resp = OKAY;
                    awq_rp = !awq_rp;
                    awq_n = awq_n - 1;
                    wr_busy = 1'b1;
                end
                if (wr_busy && wq_n != 0) begin
                    if (in_range(wr_addr)) begin
                        widx = wr_addr >> LOG_BB;
                        word = mem[widx];
                        for (i = 0; i < BB; i = i + 1)
                            if (wq_strb[wq_rp][i])
                                word[i*8 +: 8] = wq_data[wq_rp][i*8 +: 8];
                        mem[widx] = word;
                    end else
                        wr_resp = SLVERR;
                    wq_rp = !wq_rp;
                    wq_n = wq_n - 1;
                    wr_addr = wr_addr + BB;
                    wr_left = wr_left - 1;
                    if (wr_left == 0) begin
                        wr_busy = 1'b0;
                        if (bp_n == BQ) begin   // more than BQ bursts inside one latency
                            $display("vta_axi_ram: more than %0d write responses pending", BQ);
                            $finish;
                        end
                        bp_due[bp_wp[7:0]] = cyc + latency;
                        bp_resp[bp_wp[7:0]] = wr_resp;
                        bp_wp = bp_wp + 1;
                        bp_n = bp_n + 1;
                    end
                end
            end
            // -- without latency B goes out at once; others wait for B queue space
            bq_fill;
        end
        paused <= pause_next;
    end
endmodule
