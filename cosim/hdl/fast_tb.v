// Fast-mode harness of vta_top (vta.cosim.fastsim): clock, AXI RAM (vta_axi_ram) and the host
// sequence of vta.cosim.simtb in plain Verilog, so a run needs no Python in the loop (Verilator
// builds it with its own main: --binary; Icarus runs it as is).
//
// Plusargs (all set by fastsim.py):
//   +vta_image=FILE     $readmemh image of the DRAM (bus words, sparse @address records)
//   +vta_dump=FILE      "first_word count" lines (hex): DRAM words to write out after the run
//   +vta_out=FILE       result: register values, then the dumped words
//   +vta_insn_addr=N +vta_insn_count=N   the program (decimal)
//   +vta_latency=N      dram latency in cycles
//   +vta_bpc=R          dram bytes per cycle (real; read by vta_axi_ram)
//   +vta_max_cycles=N   watchdog: give up after N cycles without done
`timescale 1ns / 1ps
module vta_fast_tb;
    parameter DATA_BITS = 64;
    parameter WORDS = 1024;
    localparam BB = DATA_BITS / 8;
    localparam POLL = 50;          // cycles between two reads of CTRL (simtb.POLL_CYCLES)
    localparam NREGS = 9;          // CTRL .. BUSY_STORE (0x00..0x20): what simtb reads back

    reg clk = 1'b1;
    reg rst = 1'b1;
    always #5 clk = ~clk;

    // ---- AXI-Lite host
    reg  [11:0] s_awaddr = 0, s_araddr = 0;
    reg         s_awvalid = 0, s_wvalid = 0, s_bready = 0, s_arvalid = 0, s_rready = 0;
    reg  [31:0] s_wdata = 0;
    wire        s_awready, s_wready, s_bvalid, s_arready, s_rvalid;
    wire [1:0]  s_bresp, s_rresp;
    wire [31:0] s_rdata;

    // ---- AXI master <-> RAM
    wire        m_awid, m_awlock, m_awvalid, m_awready, m_wlast, m_wvalid, m_wready;
    wire        m_bid, m_bvalid, m_bready, m_arid, m_arlock, m_arvalid, m_arready;
    wire        m_rid, m_rlast, m_rvalid, m_rready;
    wire [31:0] m_awaddr, m_araddr;
    wire [7:0]  m_awlen, m_arlen;
    wire [2:0]  m_awsize, m_awprot, m_arsize, m_arprot;
    wire [1:0]  m_awburst, m_arburst, m_bresp, m_rresp;
    wire [3:0]  m_awcache, m_arcache;
    wire [DATA_BITS-1:0] m_wdata, m_rdata;
    wire [BB-1:0] m_wstrb;
    assign m_bid = 1'b0;
    assign m_rid = 1'b0;

    reg [31:0] latency = 0;

    vta_top dut (
        .clk(clk), .rst(rst),
        .s_axil_awaddr(s_awaddr), .s_axil_awprot(3'd0), .s_axil_awvalid(s_awvalid),
        .s_axil_awready(s_awready), .s_axil_wdata(s_wdata), .s_axil_wstrb(4'hf),
        .s_axil_wvalid(s_wvalid), .s_axil_wready(s_wready), .s_axil_bresp(s_bresp),
        .s_axil_bvalid(s_bvalid), .s_axil_bready(s_bready), .s_axil_araddr(s_araddr),
        .s_axil_arprot(3'd0), .s_axil_arvalid(s_arvalid), .s_axil_arready(s_arready),
        .s_axil_rdata(s_rdata), .s_axil_rresp(s_rresp), .s_axil_rvalid(s_rvalid),
        .s_axil_rready(s_rready),
        .m_axi_awid(m_awid), .m_axi_awaddr(m_awaddr), .m_axi_awlen(m_awlen),
        .m_axi_awsize(m_awsize), .m_axi_awburst(m_awburst), .m_axi_awlock(m_awlock),
        .m_axi_awcache(m_awcache), .m_axi_awprot(m_awprot), .m_axi_awvalid(m_awvalid),
        .m_axi_awready(m_awready), .m_axi_wdata(m_wdata), .m_axi_wstrb(m_wstrb),
        .m_axi_wlast(m_wlast), .m_axi_wvalid(m_wvalid), .m_axi_wready(m_wready),
        .m_axi_bid(m_bid), .m_axi_bresp(m_bresp), .m_axi_bvalid(m_bvalid),
        .m_axi_bready(m_bready), .m_axi_arid(m_arid), .m_axi_araddr(m_araddr),
        .m_axi_arlen(m_arlen), .m_axi_arsize(m_arsize), .m_axi_arburst(m_arburst),
        .m_axi_arlock(m_arlock), .m_axi_arcache(m_arcache), .m_axi_arprot(m_arprot),
        .m_axi_arvalid(m_arvalid), .m_axi_arready(m_arready), .m_axi_rid(m_rid),
        .m_axi_rdata(m_rdata), .m_axi_rresp(m_rresp), .m_axi_rlast(m_rlast),
        .m_axi_rvalid(m_rvalid), .m_axi_rready(m_rready)
    );

    vta_axi_ram #(.DATA_BITS(DATA_BITS), .WORDS(WORDS)) ram (
        .clk(clk), .rst(rst), .latency(latency),
        .awaddr(m_awaddr), .awlen(m_awlen), .awvalid(m_awvalid), .awready(m_awready),
        .wdata(m_wdata), .wstrb(m_wstrb), .wlast(m_wlast), .wvalid(m_wvalid), .wready(m_wready),
        .bresp(m_bresp), .bvalid(m_bvalid), .bready(m_bready),
        .araddr(m_araddr), .arlen(m_arlen), .arvalid(m_arvalid), .arready(m_arready),
        .rdata(m_rdata), .rresp(m_rresp), .rlast(m_rlast), .rvalid(m_rvalid), .rready(m_rready)
    );

    always @(posedge clk) if (ram.trace && (s_awvalid && s_awready || s_wvalid && s_wready ||
                                           s_bvalid && s_bready || s_arvalid && s_arready ||
                                           s_rvalid && s_rready))
        $display("%0d%s%s%s%s%s", $time / 10, s_awvalid && s_awready ? " LAW" : "",
                 s_wvalid && s_wready ? " LW" : "", s_bvalid && s_bready ? " LB" : "",
                 s_arvalid && s_arready ? " LAR" : "", s_rvalid && s_rready ? " LR" : "");

    // The host works on falling edges: the design's outputs are settled then, and a valid
    // set there meets the ready that the next rising edge samples (no race between the
    // simulators' orderings of a rising edge's processes).
    task axil_write(input [11:0] a, input [31:0] d);
        reg aw_hs, w_hs;
        begin
            @(negedge clk);
            s_awaddr = a; s_awvalid = 1'b1; s_wdata = d; s_wvalid = 1'b1; s_bready = 1'b1;
            while (s_awvalid || s_wvalid) begin
                aw_hs = s_awvalid && s_awready;   // handshakes at the coming rising edge
                w_hs = s_wvalid && s_wready;
                @(negedge clk);
                if (aw_hs) s_awvalid = 1'b0;
                if (w_hs) s_wvalid = 1'b0;
            end
            while (!s_bvalid) @(negedge clk);
            @(negedge clk);
            s_bready = 1'b0;
        end
    endtask

    task axil_read(input [11:0] a, output [31:0] d);
        reg ar_hs;
        begin
            @(negedge clk);
            s_araddr = a; s_arvalid = 1'b1; s_rready = 1'b1;
            while (s_arvalid) begin
                ar_hs = s_arready;
                @(negedge clk);
                if (ar_hs) s_arvalid = 1'b0;
            end
            while (!s_rvalid) @(negedge clk);
            d = s_rdata;
            @(negedge clk);
            s_rready = 1'b0;
        end
    endtask

    reg [8*4096-1:0] dump_file, out_file;
    reg [31:0] insn_addr, insn_count, v, first, count;
    reg [63:0] max_cycles, waited;
    reg [DATA_BITS-1:0] word;
    reg done;
    integer fd, fo, n, r, w;

    initial begin
        if (!$value$plusargs("vta_insn_addr=%d", insn_addr)) insn_addr = 0;
        if (!$value$plusargs("vta_insn_count=%d", insn_count)) insn_count = 0;
        if (!$value$plusargs("vta_latency=%d", latency)) latency = 0;
        if (!$value$plusargs("vta_max_cycles=%d", max_cycles)) max_cycles = 1000000;
        if (!$value$plusargs("vta_out=%s", out_file)) begin
            $display("fast_tb: +vta_out=FILE missing");
            $finish;
        end
        repeat (8) @(negedge clk);
        rst = 1'b0;
        repeat (2) @(negedge clk);
        axil_write(12'h08, insn_addr);
        axil_write(12'h0C, insn_count);
        axil_write(12'h00, 32'd1);
        waited = 0;
        done = 1'b0;
        while (!done && waited < max_cycles) begin
            repeat (POLL) @(negedge clk);
            waited = waited + POLL;
            axil_read(12'h00, v);
            done = v[1];
        end
        fo = $fopen(out_file, "w");
        $fwrite(fo, "done %0d\nsim_cycles %0d\n", done, waited);
        for (r = 0; r < NREGS; r = r + 1) begin
            axil_read(r * 4, v);
            $fwrite(fo, "reg %0d %0d\n", r * 4, v);
        end
        if ($value$plusargs("vta_dump=%s", dump_file)) begin
            fd = $fopen(dump_file, "r");
            n = $fscanf(fd, "%h %h\n", first, count);
            while (n == 2) begin
                $fwrite(fo, "dump %h %0d\n", first, count);
                for (w = 0; w < count; w = w + 1) begin
                    word = ram.mem[first + w];
                    $fwrite(fo, "%h\n", word);
                end
                n = $fscanf(fd, "%h %h\n", first, count);
            end
            $fclose(fd);
        end
        $fwrite(fo, "end\n");
        $fclose(fo);
        $finish;
    end
endmodule
