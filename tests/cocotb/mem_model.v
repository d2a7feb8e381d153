// A bare AXI4 bus (every signal an input): cocotbext-axi's AxiMaster and the testbench's
// AxiRam (vta.cosim.simtb) both attach to it, so the memory model is measured alone.
module mem_model (
    input clk, input rst,
    input [3:0] m_axi_awid, input [31:0] m_axi_awaddr, input [7:0] m_axi_awlen,
    input [2:0] m_axi_awsize, input [1:0] m_axi_awburst, input m_axi_awvalid, input m_axi_awready,
    input [63:0] m_axi_wdata, input [7:0] m_axi_wstrb, input m_axi_wlast, input m_axi_wvalid,
    input m_axi_wready,
    input [3:0] m_axi_bid, input [1:0] m_axi_bresp, input m_axi_bvalid, input m_axi_bready,
    input [3:0] m_axi_arid, input [31:0] m_axi_araddr, input [7:0] m_axi_arlen,
    input [2:0] m_axi_arsize, input [1:0] m_axi_arburst, input m_axi_arvalid, input m_axi_arready,
    input [3:0] m_axi_rid, input [63:0] m_axi_rdata, input [1:0] m_axi_rresp, input m_axi_rlast,
    input m_axi_rvalid, input m_axi_rready
);
endmodule
