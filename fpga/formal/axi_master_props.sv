// AXI4 protocol properties of the VTA AXI master (module axi_master, exported by
// `vta-fpga formal`), for SymbiYosys (read -formal). The checker is the top: every input of
// the master is a free input here, constrained by `assume` to a well-behaved core (the
// requesters) and a well-behaved AXI slave; the properties (`assert`) are written against the
// AXI channels and the core ports only, not against the master's internals, so they hold for
// any implementation with these ports (one request at a time or outstanding bursts).
//
// Parameters (set by the generated axi_master_params.vh):
//   BUS_BYTES  bytes per beat;  MAX_BURST  min(256, dram.max_burst_beats, beats of 4 KiB);
//   MAX_RD / MAX_WR  dram.max_outstanding_reads / _writes;  RQ_LOG  log2 of the slave
//   model's read-burst queue (deeper than MAX_RD and than the bound allows ARs);
//   MAX_REQ  the largest request the core makes here (beats).
//
// Two halves, each its own SymbiYosys task (the reader and the writer are independent, and
// each half alone is much easier for the solver): READ_SIDE (AR/R and the three read ports)
// and WRITE_SIDE (AW/W/B and the write port). The property groups P1..P8 are named in
// failure reports.
//
// Requests are checked against scoreboards (every request, in order); the W side follows one
// W burst and one W beat picked by an anyconst: BMC tries each choice, so that covers all.
`default_nettype none
`include "axi_master_params.vh"

module axi_master_props (
    input wire clk,
    input wire clear,
    // core read ports 0 fetch, 1 load, 2 compute: requester side
    input wire rd0_req_valid, input wire [31:0] rd0_req_addr, input wire [31:0] rd0_req_beats,
    input wire rd0_data_ready,
    input wire rd1_req_valid, input wire [31:0] rd1_req_addr, input wire [31:0] rd1_req_beats,
    input wire rd1_data_ready,
    input wire rd2_req_valid, input wire [31:0] rd2_req_addr, input wire [31:0] rd2_req_beats,
    input wire rd2_data_ready,
    // core write port (store)
    input wire wr_req_valid, input wire [31:0] wr_req_addr, input wire [31:0] wr_req_beats,
    input wire wr_data_valid, input wire [`DW-1:0] wr_data,
    // AXI slave side
    input wire m_awready, input wire m_wready,
    input wire m_bid, input wire [1:0] m_bresp, input wire m_bvalid,
    input wire m_arready,
    input wire m_rid, input wire [1:0] m_rresp, input wire m_rvalid
);
    localparam integer BUS_BYTES = `BUS_BYTES;
    localparam integer DW = `DW;
    localparam integer LOG_BB = `LOG_BB;
    localparam integer MAX_BURST = `MAX_BURST;
    localparam integer MAX_RD = `MAX_RD;
    localparam integer MAX_WR = `MAX_WR;
    localparam integer RQ_LOG = `RQ_LOG;
    localparam integer MAX_REQ = `MAX_REQ;
    localparam integer WQ_LOG = 2, WQ = 4;     // write requests ahead of their AWs (scoreboard)
    localparam integer RPQ_LOG = 2, RPQ = 4;   // read requests per port ahead of their data
    localparam integer DQ_LOG = RQ_LOG, DQ = 1 << RQ_LOG;  // requests waiting for wr_done

    // ---- reset: high in the first cycle only ------------------------------------------------
    reg past_valid = 1'b0;
    always @(posedge clk) past_valid <= 1'b1;
    wire rst = !past_valid;

    // ---- the master ----------------------------------------------------------------------------
    wire err, rd_busy, wr_busy, wr_pending;
    wire rd0_req_ready, rd0_data_valid, rd1_req_ready, rd1_data_valid, rd2_req_ready, rd2_data_valid;
    wire [DW-1:0] rd0_data, rd1_data, rd2_data;
    wire wr_req_ready, wr_data_ready, wr_done;
    wire m_awid, m_awlock, m_awvalid, m_wlast, m_wvalid, m_bready;
    wire [31:0] m_awaddr;
    wire [7:0] m_awlen;
    wire [2:0] m_awsize, m_awprot;
    wire [1:0] m_awburst;
    wire [3:0] m_awcache;
    wire [DW-1:0] m_wdata;
    wire [BUS_BYTES-1:0] m_wstrb;
    wire m_arid, m_arlock, m_arvalid, m_rready;
    wire [31:0] m_araddr;
    wire [7:0] m_arlen;
    wire [2:0] m_arsize, m_arprot;
    wire [1:0] m_arburst;
    wire [3:0] m_arcache;
    wire [DW-1:0] m_rdata;
    wire m_rlast;

    axi_master dut (
        .clk(clk), .rst(rst), .clear(clear), .err(err), .rd_busy(rd_busy), .wr_busy(wr_busy),
        .wr_pending(wr_pending),
        .rd0_req_valid(rd0_req_valid), .rd0_req_ready(rd0_req_ready), .rd0_req_addr(rd0_req_addr),
        .rd0_req_beats(rd0_req_beats), .rd0_data_valid(rd0_data_valid), .rd0_data(rd0_data),
        .rd0_data_ready(rd0_data_ready),
        .rd1_req_valid(rd1_req_valid), .rd1_req_ready(rd1_req_ready), .rd1_req_addr(rd1_req_addr),
        .rd1_req_beats(rd1_req_beats), .rd1_data_valid(rd1_data_valid), .rd1_data(rd1_data),
        .rd1_data_ready(rd1_data_ready),
        .rd2_req_valid(rd2_req_valid), .rd2_req_ready(rd2_req_ready), .rd2_req_addr(rd2_req_addr),
        .rd2_req_beats(rd2_req_beats), .rd2_data_valid(rd2_data_valid), .rd2_data(rd2_data),
        .rd2_data_ready(rd2_data_ready),
        .wr_req_valid(wr_req_valid), .wr_req_ready(wr_req_ready), .wr_req_addr(wr_req_addr),
        .wr_req_beats(wr_req_beats), .wr_data_valid(wr_data_valid), .wr_data_ready(wr_data_ready),
        .wr_data(wr_data), .wr_done(wr_done),
        .m_awid(m_awid), .m_awaddr(m_awaddr), .m_awlen(m_awlen), .m_awsize(m_awsize),
        .m_awburst(m_awburst), .m_awlock(m_awlock), .m_awcache(m_awcache), .m_awprot(m_awprot),
        .m_awvalid(m_awvalid), .m_awready(m_awready),
        .m_wdata(m_wdata), .m_wstrb(m_wstrb), .m_wlast(m_wlast), .m_wvalid(m_wvalid),
        .m_wready(m_wready),
        .m_bid(m_bid), .m_bresp(m_bresp), .m_bvalid(m_bvalid), .m_bready(m_bready),
        .m_arid(m_arid), .m_araddr(m_araddr), .m_arlen(m_arlen), .m_arsize(m_arsize),
        .m_arburst(m_arburst), .m_arlock(m_arlock), .m_arcache(m_arcache), .m_arprot(m_arprot),
        .m_arvalid(m_arvalid), .m_arready(m_arready),
        .m_rid(m_rid), .m_rdata(m_rdata), .m_rresp(m_rresp), .m_rlast(m_rlast),
        .m_rvalid(m_rvalid), .m_rready(m_rready)
    );

    wire ar_hs = m_arvalid && m_arready;
    wire r_hs = m_rvalid && m_rready;
    wire aw_hs = m_awvalid && m_awready;
    wire w_hs = m_wvalid && m_wready;
    wire b_hs = m_bvalid && m_bready;

    // A request holds valid and its payload until accepted and asks for 1..MAX_REQ beats
    // (larger requests behave alike within the bound) at a bus-aligned address.
    `define REQ_RULES(V, R, A, N) \
        always @(*) if (V) assume(N != 0 && N <= MAX_REQ && A[LOG_BB-1:0] == 0); \
        always @(posedge clk) if (past_valid && !$past(rst) && $past(V && !R)) \
            assume(V && $stable(A) && $stable(N));

    // P1 reset: no VALID in the cycle after reset.
    always @(posedge clk) if (past_valid && $past(rst))
        assert(!m_arvalid && !m_awvalid && !m_wvalid);

`ifdef READ_SIDE
    // =========================================================================================
    // Reads
    // =========================================================================================
    `REQ_RULES(rd0_req_valid, rd0_req_ready, rd0_req_addr, rd0_req_beats)
    `REQ_RULES(rd1_req_valid, rd1_req_ready, rd1_req_addr, rd1_req_beats)
    `REQ_RULES(rd2_req_valid, rd2_req_ready, rd2_req_addr, rd2_req_beats)

    // Slave: a queue of accepted ARs (address, length); R beats answer its head in order
    // (one ID), RLAST on the burst's last beat, RDATA = {salt, address of the beat} so a
    // beat's data tell which address it came from; RVALID/RRESP held until RREADY.
    localparam integer RQ = 1 << RQ_LOG;
    reg [31:0] rq_addr [0:RQ-1];
    reg [7:0] rq_len [0:RQ-1];
    reg [RQ_LOG-1:0] rq_wp = 0, rq_rp = 0;
    reg [RQ_LOG:0] rd_out = 0;          // AR bursts accepted, RLAST not yet seen
    reg [7:0] r_beat = 0;               // beats of the head burst already sent
    (* anyconst *) reg [DW-1:0] salt;
    wire [31:0] r_addr = rq_addr[rq_rp] + ({24'd0, r_beat} << LOG_BB);
    wire [DW+31:0] r_word = {salt, r_addr};
    assign m_rdata = r_word[DW-1:0];
    assign m_rlast = r_beat == rq_len[rq_rp];
    integer i;
    initial for (i = 0; i < RQ; i = i + 1) begin rq_addr[i] = 0; rq_len[i] = 0; end
    always @(posedge clk) if (!rst) begin
        if (ar_hs) begin
            rq_addr[rq_wp] <= m_araddr;
            rq_len[rq_wp] <= m_arlen;
            rq_wp <= rq_wp + 1'b1;
        end
        if (r_hs) begin
            r_beat <= m_rlast ? 8'd0 : r_beat + 1'b1;
            if (m_rlast) rq_rp <= rq_rp + 1'b1;
        end
        rd_out <= rd_out + ar_hs - (r_hs && m_rlast);
    end
    always @(*) begin
        assume(m_rid == 0);
        if (m_rvalid) assume(rd_out != 0);
    end
    always @(posedge clk) if (past_valid && !$past(rst) && $past(m_rvalid && !m_rready))
        assume(m_rvalid && $stable(m_rresp));

    // P2 AR handshake stability: ARVALID stays high, its payload unchanged, until ARREADY.
    always @(posedge clk) if (past_valid && !$past(rst) && $past(m_arvalid && !m_arready))
        assert(m_arvalid && $stable(m_araddr) && $stable(m_arlen) && $stable(m_arsize)
               && $stable(m_arburst) && $stable(m_arid) && $stable(m_arlock)
               && $stable(m_arcache) && $stable(m_arprot));

    // P3 AR burst rules: INCR, full-width beats at aligned addresses, at most MAX_BURST beats,
    // never across a 4 KiB page; one ID (so the slave answers in order).
    wire [12:0] ar_end = {1'b0, m_araddr[11:0]} + (({5'd0, m_arlen} + 13'd1) << LOG_BB);
    always @(*) if (!rst && m_arvalid) begin
        assert(m_arburst == 2'b01 && m_arsize == LOG_BB && m_arid == 0);
        assert((m_araddr & (BUS_BYTES - 1)) == 0);
        assert({1'b0, m_arlen} < MAX_BURST);
        assert(ar_end <= 13'd4096);
    end

    // P4 read outstanding limit: AR bursts without their RLAST.
    always @(*) assert(rd_out <= MAX_RD);

    // P8 read routing, checked against a scoreboard per port of its accepted requests (in
    // order): a port sees data_valid only while it is owed beats, and each beat it accepts
    // carries the data of the next address of its oldest request (RDATA = {salt, address}),
    // so every port gets exactly the beats it asked for, in order, from the right addresses;
    // no port gets more beats than came on R. (Environment: a port keeps at most RPQ
    // requests ahead of their data, the size of the scoreboard.)
    wire [2:0] rq_hs = {rd2_req_valid && rd2_req_ready, rd1_req_valid && rd1_req_ready,
                        rd0_req_valid && rd0_req_ready};
    wire [2:0] dv = {rd2_data_valid, rd1_data_valid, rd0_data_valid};
    wire [2:0] d_hs = dv & {rd2_data_ready, rd1_data_ready, rd0_data_ready};
    reg [15:0] r_n = 0, got_n = 0;          // beats received on R / delivered to the ports
    always @(posedge clk) if (!rst) begin
        r_n <= r_n + r_hs;
        got_n <= got_n + d_hs[0] + d_hs[1] + d_hs[2];
    end
    always @(*) if (!rst) assert({2'b0, got_n} + d_hs[0] + d_hs[1] + d_hs[2] <= {2'b0, r_n} + r_hs);
    `define PORT_SCOREBOARD(P, V, A, N, D) \
        reg [31:0] sb``P``_addr [0:RPQ-1]; \
        reg [31:0] sb``P``_left [0:RPQ-1]; \
        reg [RPQ_LOG-1:0] sb``P``_wp = 0, sb``P``_rp = 0; \
        reg [RPQ_LOG:0] sb``P``_cnt = 0; \
        wire sb``P``_pop = d_hs[P] && sb``P``_left[sb``P``_rp] == 1; \
        wire [DW+31:0] sb``P``_want = {salt, sb``P``_addr[sb``P``_rp]}; \
        initial for (i = 0; i < RPQ; i = i + 1) begin sb``P``_addr[i] = 0; sb``P``_left[i] = 0; end \
        always @(*) if (V) assume(sb``P``_cnt < RPQ); \
        always @(posedge clk) if (!rst) begin \
            if (rq_hs[P]) begin \
                sb``P``_addr[sb``P``_wp] <= A; sb``P``_left[sb``P``_wp] <= N; \
                sb``P``_wp <= sb``P``_wp + 1'b1; \
            end \
            if (d_hs[P]) begin \
                sb``P``_addr[sb``P``_rp] <= sb``P``_addr[sb``P``_rp] + BUS_BYTES; \
                sb``P``_left[sb``P``_rp] <= sb``P``_left[sb``P``_rp] - 1'b1; \
                if (sb``P``_pop) sb``P``_rp <= sb``P``_rp + 1'b1; \
            end \
            sb``P``_cnt <= sb``P``_cnt + rq_hs[P] - sb``P``_pop; \
        end \
        always @(*) if (!rst) begin \
            if (dv[P]) assert(sb``P``_cnt != 0); \
            if (d_hs[P]) assert(D == sb``P``_want[DW-1:0]); \
        end
    `PORT_SCOREBOARD(0, rd0_req_valid, rd0_req_addr, rd0_req_beats, rd0_data)
    `PORT_SCOREBOARD(1, rd1_req_valid, rd1_req_addr, rd1_req_beats, rd1_data)
    `PORT_SCOREBOARD(2, rd2_req_valid, rd2_req_addr, rd2_req_beats, rd2_data)

    // reachability (cover task): a followed request of each port completes; slots fill up
    always @(*) if (!rst) begin
        cover(sb0_pop);
        cover(sb1_pop);
        cover(sb2_pop);
        cover(rd_out >= 2);                 // bursts overlap (the limit itself: deeper runs)
    end
`endif

`ifdef WRITE_SIDE
    // =========================================================================================
    // Writes
    // =========================================================================================
    `REQ_RULES(wr_req_valid, wr_req_ready, wr_req_addr, wr_req_beats)
    // the store's data stream holds valid and data until accepted
    always @(posedge clk)
        if (past_valid && !$past(rst) && $past(wr_data_valid && !wr_data_ready))
            assume(wr_data_valid && $stable(wr_data));

    // Slave: B only for a burst whose AW and W (with WLAST) were both accepted, one ID,
    // BVALID/BRESP held until BREADY.
    reg [15:0] aw_n = 0, wl_n = 0, b_n = 0;    // AW handshakes, W bursts ended, B handshakes
    always @(posedge clk) if (!rst) begin
        aw_n <= aw_n + aw_hs;
        wl_n <= wl_n + (w_hs && m_wlast);
        b_n <= b_n + b_hs;
    end
    always @(*) begin
        assume(m_bid == 0);
        if (m_bvalid) assume(b_n < aw_n && b_n < wl_n);
    end
    always @(posedge clk) if (past_valid && !$past(rst) && $past(m_bvalid && !m_bready))
        assume(m_bvalid && $stable(m_bresp));

    // P2 AW/W handshake stability: VALID stays high, its payload unchanged, until READY.
    always @(posedge clk) if (past_valid && !$past(rst)) begin
        if ($past(m_awvalid && !m_awready))
            assert(m_awvalid && $stable(m_awaddr) && $stable(m_awlen) && $stable(m_awsize)
                   && $stable(m_awburst) && $stable(m_awid) && $stable(m_awlock)
                   && $stable(m_awcache) && $stable(m_awprot));
        if ($past(m_wvalid && !m_wready))
            assert(m_wvalid && $stable(m_wdata) && $stable(m_wstrb) && $stable(m_wlast));
    end

    // P3 AW burst rules: INCR, full-width beats at aligned addresses, at most MAX_BURST beats,
    // never across a 4 KiB page, one ID; whole beats written (WSTRB all ones).
    wire [12:0] aw_end = {1'b0, m_awaddr[11:0]} + (({5'd0, m_awlen} + 13'd1) << LOG_BB);
    always @(*) if (!rst) begin
        if (m_awvalid) begin
            assert(m_awburst == 2'b01 && m_awsize == LOG_BB && m_awid == 0);
            assert((m_awaddr & (BUS_BYTES - 1)) == 0);
            assert({1'b0, m_awlen} < MAX_BURST);
            assert(aw_end <= 13'd4096);
        end
        if (m_wvalid) assert(m_wstrb == {BUS_BYTES{1'b1}});
    end

    // P4 write outstanding limit: AW bursts without their B.
    always @(*) assert(aw_n - b_n <= MAX_WR);

    // P5 W bursts: WLAST exactly on beat AWLEN+1 of the matching AW (W may run ahead of AW).
    reg [15:0] w_beat = 0;                  // beats of the current W burst already sent
    always @(posedge clk) if (!rst && w_hs) w_beat <= m_wlast ? 16'd0 : w_beat + 1'b1;
    always @(*) if (!rst && m_wvalid) assert(w_beat < MAX_BURST && (m_wlast || w_beat + 1 < MAX_BURST));
    (* anyconst *) reg [15:0] kb;           // the W burst followed
    reg kb_aw = 0, kb_w = 0;
    reg [7:0] kb_len = 0;
    reg [15:0] kb_wbeats = 0;
    always @(posedge clk) if (!rst) begin
        if (aw_hs && aw_n == kb) begin kb_aw <= 1; kb_len <= m_awlen; end
        if (w_hs && m_wlast && wl_n == kb) begin kb_w <= 1; kb_wbeats <= w_beat + 1'b1; end
    end
    always @(*) if (!rst) begin
        if (kb_aw && kb_w) assert(kb_wbeats == {8'd0, kb_len} + 16'd1);
        if (kb_aw && !kb_w && wl_n == kb && m_wvalid) assert(m_wlast == (w_beat == {8'd0, kb_len}));
    end

    // P6 write data in order: the n-th W beat carries the core's n-th write beat.
    reg [31:0] core_wn = 0, axi_wn = 0;     // write beats accepted from the core / sent on W
    wire core_w_hs = wr_data_valid && wr_data_ready;
    always @(posedge clk) if (!rst) begin
        core_wn <= core_wn + core_w_hs;
        axi_wn <= axi_wn + w_hs;
    end
    (* anyconst *) reg [31:0] kw;           // the beat followed
    reg kw_core = 0, kw_axi = 0;
    reg [DW-1:0] kw_cdata = 0, kw_wdata = 0;
    always @(posedge clk) if (!rst) begin
        if (core_w_hs && core_wn == kw) begin kw_core <= 1; kw_cdata <= wr_data; end
        if (w_hs && axi_wn == kw) begin kw_axi <= 1; kw_wdata <= m_wdata; end
    end
    always @(*) if (!rst) begin
        if (kw_core && kw_axi) assert(kw_cdata == kw_wdata);
        assert(axi_wn + w_hs <= core_wn + core_w_hs);   // no W beat the core did not give
        if (m_wvalid) assert(m_wstrb == {BUS_BYTES{1'b1}});   // whole beats are written
    end

    // P7 write addresses and completion, checked against a scoreboard of accepted requests
    // (in order): each AW burst lies inside the oldest request not yet covered, at the next
    // address of it (so a request's bursts start at its address and are contiguous); no AW
    // without a request; a request's wr_done pulse (in request order) comes only after the B
    // of its last burst; no pulse without a request. (Environment: the core keeps at most WQ
    // requests ahead of their AWs, the size of the scoreboard.)
    reg [31:0] wa_addr [0:WQ-1];            // next burst address of each request
    reg [31:0] wa_left [0:WQ-1];            // its beats not yet covered by AW
    reg [WQ_LOG-1:0] wa_wp = 0, wa_rp = 0;
    reg [WQ_LOG:0] wa_cnt = 0;
    reg [15:0] wd_last [0:DQ-1];            // requests waiting for done: index of last burst
    reg [DQ_LOG-1:0] wd_wp = 0, wd_rp = 0;
    reg [DQ_LOG:0] wd_cnt = 0;
    wire wreq_hs = wr_req_valid && wr_req_ready;
    wire [31:0] aw_len1 = {24'd0, m_awlen} + 32'd1;
    wire aw_done_req = aw_hs && wa_left[wa_rp] == aw_len1;  // the request's last burst
    integer j;
    initial begin
        for (j = 0; j < WQ; j = j + 1) begin wa_addr[j] = 0; wa_left[j] = 0; end
        for (j = 0; j < DQ; j = j + 1) wd_last[j] = 0;
    end
    always @(*) if (wr_req_valid) assume(wa_cnt < WQ);
    always @(posedge clk) if (!rst) begin
        if (wreq_hs) begin
            wa_addr[wa_wp] <= wr_req_addr; wa_left[wa_wp] <= wr_req_beats;
            wa_wp <= wa_wp + 1'b1;
        end
        if (aw_hs) begin
            wa_addr[wa_rp] <= wa_addr[wa_rp] + (aw_len1 << LOG_BB);
            wa_left[wa_rp] <= wa_left[wa_rp] - aw_len1;
            if (aw_done_req) begin
                wa_rp <= wa_rp + 1'b1;
                wd_last[wd_wp] <= aw_n; wd_wp <= wd_wp + 1'b1;
            end
        end
        wa_cnt <= wa_cnt + wreq_hs - aw_done_req;
        if (wr_done) wd_rp <= wd_rp + 1'b1;
        wd_cnt <= wd_cnt + aw_done_req - wr_done;
    end
    always @(*) if (!rst) begin
        if (aw_hs) begin
            assert(wa_cnt != 0);
            assert(m_awaddr == wa_addr[wa_rp]);
            assert(aw_len1 <= wa_left[wa_rp]);
        end
        if (wr_done) begin
            assert(wd_cnt != 0);
            assert({1'b0, b_n} + b_hs > {1'b0, wd_last[wd_rp]});
        end
    end

    // reachability (cover task): a followed request ends with its done pulse; slots fill up
    always @(*) if (!rst) begin
        cover(wr_done);
        cover(aw_n - b_n >= 2);
    end
`endif
endmodule
`default_nettype wire

