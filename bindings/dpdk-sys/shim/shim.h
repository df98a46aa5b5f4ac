/* synwall DPDK shim: DPDK's static-inline functions and macros exported as real symbols so that
 * Rust can call them. Each wrapper is one line of DPDK; the names keep DPDK's with a `shim_` prefix. */
#ifndef SYNWALL_SHIM_H
#define SYNWALL_SHIM_H

#include <rte_config.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_launch.h>
#include <rte_cycles.h>
#include <rte_mempool.h>
#include <rte_mbuf.h>
#include <rte_ethdev.h>
#include <rte_version.h>
#include <rte_prefetch.h>

/* rte_errno is a per-lcore (thread-local) variable behind a macro. */
int shim_rte_errno(void);

/* Poll-mode receive and transmit (static inline in rte_ethdev.h). */
uint16_t shim_rte_eth_rx_burst(uint16_t port_id, uint16_t queue_id, struct rte_mbuf **rx_pkts, uint16_t nb_pkts);
uint16_t shim_rte_eth_tx_burst(uint16_t port_id, uint16_t queue_id, struct rte_mbuf **tx_pkts, uint16_t nb_pkts);

/* Mbuf helpers (static inline in rte_mbuf.h). */
struct rte_mbuf *shim_rte_pktmbuf_alloc(struct rte_mempool *mp);
void shim_rte_pktmbuf_free(struct rte_mbuf *m);
void shim_rte_pktmbuf_free_bulk(struct rte_mbuf **mbufs, unsigned int count);
char *shim_rte_pktmbuf_append(struct rte_mbuf *m, uint16_t len);
/* Start of packet data (rte_pktmbuf_mtod) and the lengths of a single-segment mbuf. */
uint8_t *shim_rte_pktmbuf_data(struct rte_mbuf *m);
uint16_t shim_rte_pktmbuf_data_len(const struct rte_mbuf *m);
uint32_t shim_rte_pktmbuf_pkt_len(const struct rte_mbuf *m);
uint16_t shim_rte_pktmbuf_nb_segs(const struct rte_mbuf *m);
uint16_t shim_rte_mbuf_port(const struct rte_mbuf *m);
/* RSS hash the NIC computed; valid only when the RTE_MBUF_F_RX_RSS_HASH flag is set (else 0 returned). */
uint32_t shim_rte_mbuf_rss_hash(const struct rte_mbuf *m);
unsigned int shim_rte_mempool_avail_count(const struct rte_mempool *mp);

/* Lcores and time. */
unsigned int shim_rte_lcore_id(void);
uint64_t shim_rte_rdtsc(void);
void shim_rte_prefetch0(const void *p);
void shim_rte_pause(void);



/* Constants DPDK defines with function-like macros (RTE_BIT64), which bindgen cannot evaluate. */
uint64_t shim_rss_hf_ip_tcp_udp(void);
uint64_t shim_rx_offload_rss_hash(void);
uint64_t shim_tx_offload_mbuf_fast_free(void);
#endif
