/*
 * ed25519 with expanded keys and key blinding: RFC 8032 section 7.1
 * vectors, tor's src/test/ed25519_vectors.inc (made by tor's
 * ed25519_exts_ref.py), tor's test_hs_common.c:test_blinding_basics, and
 * negative tests.
 */
#include <string.h>

#include <sodium.h>

#include "ed25519_expanded.h"
#include "test.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* tor src/test/ed25519_vectors.inc, all ten vectors, column by column. */
static const struct tor_vector {
	const char	*seed;
	const char	*expanded;
	const char	*pub;
	const char	*param;
	const char	*blinded_secret;
	const char	*blinded_pub;
	const char	*self_sig;
} tor_vectors[] = {
	{	/* 0 */
	    "26c76712d89d906e6672dafa614c42e5cb1caac8c6568e4d2493087db51f0d36",
	    "c0a4de23cc64392d85aa1da82b3defddbea946d13bb053bf8489fa9296281f49"
	    "5022f1f7ec0dcf52f07d4c7965c4eaed121d5d88d0a8ff546b06116a20e97755",
	    "c2247870536a192d142d056abefca68d6193158e7c1a59c1654c954eccaff894",
	    "54a513898b471d1d448a2f3c55c1de2c0ef718c447b04497eeb999ed32027823",
	    "293c3acff4e902f6f63ddc5d5caa2a57e771db4f24de65d4c28df3232f47fa01"
	    "171d43f24e3f53e70ec7ac280044ac77d4942dee5d6807118a59bdf3ee647e89",
	    "1fc1fa4465bd9d4956fdbdc9d3acb3c7019bb8d5606b951c2e1dfe0b42eaeb41",
	    "d23188eac3773a316d46006fa59c095060be8b1a23582a0dd99002a82a0662bd"
	    "246d8449e172e04c5f46ac0d1404cebe4aabd8a75a1457aa06cae41f3334f104",
	},
	{	/* 1 */
	    "fba7a5366b5cb98c2667a18783f5cf8f4f8d1a2ce939ad22a6e685edde85128d",
	    "18a8a69a06790dac778e882f7e868baacfa12521a5c058f5194f3a729184514a"
	    "2a656fe7799c3e41f43d756da8d9cd47a061316cfe6147e23ea2f90d1ca45f30",
	    "1519a3b15816a1aafab0b213892026ebf5c0dc232c58b21088d88cb90e9b940d",
	    "831e9b5325b5d31b7ae6197e9c7a7baf2ec361e08248bce055908971047a2347",
	    "38b88f9f9440358da544504ee152fb475528f7c51c285bd1c68b14ade8e29a07"
	    "b8ceff20dfcf53eb52b891fc078c934efbf0353af7242e7dc51bb32a093afa29",
	    "1cbbd4a88ce8f165447f159d9f628ada18674158c4f7c5ead44ce8eb0fa6eb7e",
	    "3a785ac1201c97ee5f6f0d99323960d5f264c7825e61aa7cc81262f15bef75eb"
	    "4fa5723add9b9d45b12311b6d403eb3ac79ff8e4e631fc3cd51e4ad2185b200b",
	},
	{	/* 2 */
	    "67e3aa7a14fac8445d15e45e38a523481a69ae35513c9e4143eb1c2196729a0e",
	    "58d84f8862d2ecfa30eb491a81c36d05b574310ea69dae18ecb57e992a896656"
	    "b982187ee96c15bf4caeeab2d0b0ae4cd0b8d17470fc7efa98bb26428f4ef36d",
	    "081faa81992e360ea22c06af1aba096e7a73f1c665bc8b3e4e531c46455fd1dd",
	    "ac78a1d46faf3bfbbdc5af5f053dc6dc9023ed78236bec1760dadfd0b2603760",
	    "4d03ce16a3f3249846aac9de0a0075061495c3b027248eeee47da4ddbaf9e004"
	    "9217f52e92797462bd890fc274672e05c98f2c82970d640084781334aae0f940",
	    "c5419ad133ffde7e0ac882055d942f582054132b092de377d587435722deb028",
	    "cf431fd0416bfbd20c9d95ef9b723e2acddffb33900edc72195dea95965d52d8"
	    "88d30b7b8a677c0bd8ae1417b1e1a0ec6700deadd5d8b54b6689275e04a04509",
	},
	{	/* 3 */
	    "d51385942033a76dc17f089a59e6a5a7fe80d9c526ae8ddd8c3a506b99d3d0a6",
	    "50702d20b3550c6e16033db5ad4fba16436f1ecc7485be6af62b0732ceb5d173"
	    "c47ccd9d044b6ea99dd99256adcc9c62191be194e7cb1a5b58ddcec85d876a2b",
	    "73cfa1189a723aad7966137cbffa35140bb40d7e16eae4c40b79b5f0360dd65a",
	    "f9c84dc0ac31571507993df94da1b3d28684a12ad14e67d0a068aba5c53019fc",
	    "51d7db01aaa0d937a9fd7c8c7381445a14d8fa61f43347af5460d7cd8fda9904"
	    "509ecee77082ce088f7c19d5a00e955eeef8df6fa41686abc1030c2d76807733",
	    "3e08d0dc291066272e313014bfac4d39ad84aa93c038478a58011f431648105f",
	    "2375380cd72d1a6c642aeddff862be8a5804b916acb72c02d9ed052c1561881a"
	    "a658a5af856fcd6d43113e42f698cd6687c99efeef7f2ce045824440d26c5d00",
	},
	{	/* 4 */
	    "5c8eac469bb3f1b85bc7cd893f52dc42a9ab66f1b02b5ce6a68e9b175d3bb433",
	    "7077464c864c2ed5ed21c9916dc3b3ba6256f8b742fec67658d8d233dadc8d5a"
	    "7a82c371083cc86892c2c8782dda2a09b6baf016aec51b689183ae59ce932ff2",
	    "66c1a77104d86461b6f98f73acf3cd229c80624495d2d74d6fda1e940080a96b",
	    "b1fe79d1dec9bc108df69f6612c72812755751f21ecc5af99663b30be8b9081f",
	    "1f76cab834e222bd2546efa7e073425680ab88df186ff41327d3e40770129b00"
	    "b57b95a440570659a440a3e4771465022a8e67af86bdf2d0990c54e7bb87ff9a",
	    "59381f06acb6bf1389ba305f70874eed3e0f2ab57cdb7bc69ed59a9b8899ff4d",
	    "2385a472f599ca965bbe4d610e391cdeabeba9c336694b0d6249e551458280be"
	    "122c2441dd9746a81bbfb9cd619364bab0df37ff4ceb7aefd24469c39d3bc508",
	},
	{	/* 5 */
	    "eda433d483059b6d1ff8b7cfbd0fe406bfb23722c8f3c8252629284573b61b86",
	    "8883c1387a6c86fc0bd7b9f157b4e4cd83f6885bf55e2706d2235d4527a2f053"
	    "11a3595953282e436df0349e1bb313a19b3ddbf7a7b91ecce8a2c34abadb38b3",
	    "d21c294db0e64cb2d8976625786ede1d9754186ae8197a64d72f68c792eecc19",
	    "81f1512b63ab5fb5c1711a4ec83d379c420574aedffa8c3368e1c3989a3a0084",
	    "c23588c23ee76093419d07b27c6df5922a03ac58f96c53671456a7d1bdbf560e"
	    "c492fc87d5ec2a1b185ca5a40541fdef0b1e128fd5c2380c888bfa924711bcab",
	    "2b946a484344eb1c17c89dd8b04196a84f3b7222c876a07a4cece85f676f87d9",
	    "e500cd0b8cfff35442f88008d894f3a2fa26ef7d3a0ca5714ae0d3e2d40caae5"
	    "8ba7cdf69dd126994dad6be536fcda846d89dd8138d1683cc144c8853dce7607",
	},
	{	/* 6 */
	    "4377c40431c30883c5fbd9bc92ae48d1ed8a47b81d13806beac5351739b5533d",
	    "186791ac8d03a3ac8efed6ac360467edd5a3bed2d02b3be713ddd5be53b3287e"
	    "e37436e5fd7ac43794394507ad440ecfdf59c4c255f19b768a273109e06d7d8e",
	    "c4d58b4cf85a348ff3d410dd936fa460c4f18da962c01b1963792b9dcc8a6ea6",
	    "97f45142597c473a4b0e9a12d64561133ad9e1155fe5a9807fe6af8a93557818",
	    "3ed249c6932d076e1a2f6916975914b14e8c739da00992358b8f37d3e7906506"
	    "91b4768f8e556d78f4bdcb9a13b6f6066fe81d3134ae965dc48cd0785b3af2b8",
	    "c6b585129b135f8769df2eba987e76e089e80ba3a2a6729134d3b28008ac098e",
	    "d187b9e334b0050154de10bf69b3e4208a584e1a65015ec28b14bcc252cf84b8"
	    "baa9c94867daa60f2a82d09ba9652d41e8dde292b624afc8d2c26441b95e3c0e",
	},
	{	/* 7 */
	    "c6bbcce615839756aed2cc78b1de13884dd3618f48367a17597a16c1cd7a290b",
	    "b003077c1e52a62308eef7950b2d532e1d4a7eea50ad22d8ac11b892851f1c40"
	    "ffb9c9ff8dcd0c6c233f665a2e176324d92416bfcfcd1f787424c0c667452d86",
	    "95126f14d86494020665face03f2d42ee2b312a85bc729903eb17522954a1c4a",
	    "3f44f6a5a92cde816635dfc12ade70539871078d2ff097278be2a555c9859cd0",
	    "288cbfd923cb286d48c084555b5bdd06c05e92fb81acdb45271367f57515380e"
	    "053d9c00c81e1331c06ab50087be8cfc7dc11691b132614474f1aa9c2503cccd",
	    "0eefdc795b59cabbc194c6174e34ba9451e8355108520554ec285acabebb34ac",
	    "815213640a643d198bd056e02bba74e1c8d2d931643e84497adf3347eb485079"
	    "c9afe0afce9284cdc084946b561abbb214f1304ca11228ff82702185cf28f60d",
	},
	{	/* 8 */
	    "c6bbcce615839756aed2cc78b1de13884dd3618f48367a17597a16c1cd7a290b",
	    "b003077c1e52a62308eef7950b2d532e1d4a7eea50ad22d8ac11b892851f1c40"
	    "ffb9c9ff8dcd0c6c233f665a2e176324d92416bfcfcd1f787424c0c667452d86",
	    "95126f14d86494020665face03f2d42ee2b312a85bc729903eb17522954a1c4a",
	    "0000000000000000000000000000000000000000000000000000000000000000",
	    "e5cd03eb4cc456e11bc36724b558873df0045729b22d8b748360067a7770ac02"
	    "053d9c00c81e1331c06ab50087be8cfc7dc11691b132614474f1aa9c2503cccd",
	    "312404d06a0a9de489904b18d5233e83a50b225977fa8734f2c897a73c067952",
	    "815213640a643d198bd056e02bba74e1c8d2d931643e84497adf3347eb485079"
	    "c9afe0afce9284cdc084946b561abbb214f1304ca11228ff82702185cf28f60d",
	},
	{	/* 9 */
	    "c6bbcce615839756aed2cc78b1de13884dd3618f48367a17597a16c1cd7a290b",
	    "b003077c1e52a62308eef7950b2d532e1d4a7eea50ad22d8ac11b892851f1c40"
	    "ffb9c9ff8dcd0c6c233f665a2e176324d92416bfcfcd1f787424c0c667452d86",
	    "95126f14d86494020665face03f2d42ee2b312a85bc729903eb17522954a1c4a",
	    "1111111111111111111111111111111111111111111111111111111111111111",
	    "2cf7ed8b163f5af960d2fc62e1883aa422a6090736b4f18a5456ddcaf78ede0c"
	    "053d9c00c81e1331c06ab50087be8cfc7dc11691b132614474f1aa9c2503cccd",
	    "952a908a4a9e0e5176a2549f8f328955aca6817a9fdc59e3acec5dec50838108",
	    "815213640a643d198bd056e02bba74e1c8d2d931643e84497adf3347eb485079"
	    "c9afe0afce9284cdc084946b561abbb214f1304ca11228ff82702185cf28f60d",
	},
};

static void
load_expanded(struct ed25519_expanded *sk, const char *hex)
{
	uint8_t raw[64];

	test_unhex(raw, sizeof(raw), hex);
	memcpy(sk->scalar, raw, 32);
	memcpy(sk->prefix, raw + 32, 32);
}

static void
check_expanded(const struct ed25519_expanded *sk, const char *hex)
{
	uint8_t raw[64];

	memcpy(raw, sk->scalar, 32);
	memcpy(raw + 32, sk->prefix, 32);
	CHECK_HEX(raw, sizeof(raw), hex);
}

/* RFC 8032 section 7.1, TEST 1-3: from the seed, exact signatures. */
static void
test_rfc8032_vectors(void)
{
	static const struct {
		const char *seed, *pub, *msg, *sig;
	} v[] = {
	{
	    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
	    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
	    "",
	    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
	    "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
	},
	{
	    "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
	    "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
	    "72",
	    "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
	    "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
	},
	{
	    "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
	    "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
	    "af82",
	    "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
	    "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
	},
	};
	struct ed25519_expanded sk;
	uint8_t seed[32], pub[32], msg[2], sig[64];
	struct bytes_ref part;
	size_t i, len;

	for (i = 0; i < NELEM(v); i++) {
		test_unhex(seed, 32, v[i].seed);
		len = strlen(v[i].msg) / 2;
		test_unhex(msg, len, v[i].msg);
		ed25519_expand_seed(&sk, seed);
		CHECK_INT_EQ(ed25519_public_from_expanded(pub, &sk), 0);
		CHECK_HEX(pub, 32, v[i].pub);
		part = (struct bytes_ref){ msg, len };
		CHECK_INT_EQ(ed25519_sign_expanded(sig, &part, 1, &sk, pub), 0);
		CHECK_HEX(sig, 64, v[i].sig);
		CHECK_INT_EQ(ed25519_verify(sig, msg, len, pub), 0);
	}
}

/* The message may come in any number of parts, empty ones included. */
static void
test_sign_parts_equal_concatenation(void)
{
	struct ed25519_expanded sk;
	uint8_t pub[32], whole[64], split[64];
	const char msg[] =
	    "Tor onion service descriptor sig v3hs-descriptor 3\n";
	struct bytes_ref one = { msg, sizeof(msg) - 1 };
	struct bytes_ref three[] = {
		{ msg, 35 }, { NULL, 0 }, { msg + 35, sizeof(msg) - 1 - 35 },
	};

	load_expanded(&sk, tor_vectors[3].expanded);
	test_unhex(pub, 32, tor_vectors[3].pub);
	CHECK_INT_EQ(ed25519_sign_expanded(whole, &one, 1, &sk, pub), 0);
	CHECK_INT_EQ(ed25519_sign_expanded(split, three, NELEM(three), &sk,
	    pub), 0);
	CHECK(memcmp(whole, split, 64) == 0);
	CHECK_INT_EQ(ed25519_verify(whole, (const uint8_t *)msg,
	    sizeof(msg) - 1, pub), 0);
	CHECK_INT_EQ(crypto_sign_verify_detached(split, (const uint8_t *)msg,
	    sizeof(msg) - 1, pub), 0);
}

/* Seed -> expanded key -> public key, for every tor vector. */
static void
test_tor_vectors_expand(void)
{
	struct ed25519_expanded sk;
	uint8_t seed[32], pub[32];
	size_t i;

	for (i = 0; i < NELEM(tor_vectors); i++) {
		test_unhex(seed, 32, tor_vectors[i].seed);
		ed25519_expand_seed(&sk, seed);
		check_expanded(&sk, tor_vectors[i].expanded);
		CHECK_INT_EQ(ed25519_public_from_expanded(pub, &sk), 0);
		CHECK_HEX(pub, 32, tor_vectors[i].pub);
		CHECK_INT_EQ(ed25519_pubkey_is_valid(pub), 1);
	}
}

/* Each key signs its own public key, from the expanded key alone. */
static void
test_tor_vectors_self_signatures(void)
{
	struct ed25519_expanded sk;
	uint8_t pub[32], sig[64];
	struct bytes_ref part = { pub, 32 };
	size_t i;

	for (i = 0; i < NELEM(tor_vectors); i++) {
		load_expanded(&sk, tor_vectors[i].expanded);
		test_unhex(pub, 32, tor_vectors[i].pub);
		CHECK_INT_EQ(ed25519_sign_expanded(sig, &part, 1, &sk, pub), 0);
		CHECK_HEX(sig, 64, tor_vectors[i].self_sig);
		CHECK_INT_EQ(ed25519_verify(sig, pub, 32, pub), 0);
	}
}

/*
 * Blinding with a raw param, for every tor vector; 8 and 9 use params of
 * all 00 and all 11 bytes (an all-zero h clamps to 2^254).
 */
static void
test_tor_vectors_blinding(void)
{
	struct ed25519_expanded sk, blinded;
	uint8_t pub[32], h[32], bpub[32], check[32];
	size_t i;

	for (i = 0; i < NELEM(tor_vectors); i++) {
		load_expanded(&sk, tor_vectors[i].expanded);
		test_unhex(pub, 32, tor_vectors[i].pub);
		test_unhex(h, 32, tor_vectors[i].param);
		CHECK_INT_EQ(hs_blind_pubkey_with_param(bpub, pub, h), 0);
		CHECK_HEX(bpub, 32, tor_vectors[i].blinded_pub);
		CHECK_INT_EQ(hs_blind_secret_with_param(&blinded, &sk, h), 0);
		check_expanded(&blinded, tor_vectors[i].blinded_secret);
		CHECK_INT_EQ(ed25519_public_from_expanded(check, &blinded), 0);
		CHECK(memcmp(check, bpub, 32) == 0);
	}
}

/* Blinding in place: out may be the key it blinds. */
static void
test_blind_secret_in_place(void)
{
	struct ed25519_expanded sk;
	uint8_t h[32];

	load_expanded(&sk, tor_vectors[2].expanded);
	test_unhex(h, 32, tor_vectors[2].param);
	CHECK_INT_EQ(hs_blind_secret_with_param(&sk, &sk, h), 0);
	check_expanded(&sk, tor_vectors[2].blinded_secret);
}

/* tor test_hs_common.c:test_blinding_basics (TP 1234, 1440 minutes). */
static void
test_blinding_basics(void)
{
	struct ed25519_expanded sk, blinded;
	uint8_t pub[32], h[32], bpub[32], bpub2[32];

	test_unhex(pub, 32,
	    "833990B085C1A688C1D4C8B1F6B56AFAF5A2ECA674449E1D704F83765CCB7BC6");
	load_expanded(&sk,
	    "D8C7FF0E31295B66540D789AF3E3DF992038A9592EEA01D8B7CBA06D6E66D159"
	    "4D6167696320576F7264733A20737065697373636F62616C742062697669756D");
	hs_blinding_param(h, pub, 1234, 1440);
	CHECK_HEX(h, 32,
	    "379E50DB31FEE6775ABD0AF6FB7C371E060308F4F847DB09FE4CFE13AF602287");
	CHECK_INT_EQ(hs_blind_pubkey(bpub, pub, 1234, 1440), 0);
	CHECK_HEX(bpub, 32,
	    "3A50BF210E8F9EE955AE0014F7A6917FB65EBF098A86305ABB508D1A7291B6D5");
	CHECK_INT_EQ(hs_blind_secret(&blinded, bpub2, &sk, pub, 1234, 1440), 0);
	check_expanded(&blinded,
	    "A958DC83AC885F6814C67035DE817A2C604D5D2F715282079448F789B656350B"
	    "4540FE1F80AA3F7E91306B7BF7A8E367293352B14A29FDCC8C19F3558075524B");
	CHECK(memcmp(bpub, bpub2, 32) == 0);
	/* out_pub is optional. */
	CHECK_INT_EQ(hs_blind_secret(&blinded, NULL, &sk, pub, 1234, 1440), 0);
	/* Another period or length is another key. */
	CHECK_INT_EQ(hs_blind_pubkey(bpub2, pub, 1235, 1440), 0);
	CHECK(memcmp(bpub, bpub2, 32) != 0);
	CHECK_INT_EQ(hs_blind_pubkey(bpub2, pub, 1234, 1439), 0);
	CHECK(memcmp(bpub, bpub2, 32) != 0);
}

/* A signature by the blinded secret verifies under A' and only A'. */
static void
test_blinded_key_signs(void)
{
	struct ed25519_expanded sk, blinded;
	uint8_t pub[32], bpub[32], sig[64];
	const char msg[] = "descriptor-signing-key-cert body";
	struct bytes_ref part = { msg, sizeof(msg) - 1 };

	load_expanded(&sk, tor_vectors[0].expanded);
	test_unhex(pub, 32, tor_vectors[0].pub);
	CHECK_INT_EQ(hs_blind_secret(&blinded, bpub, &sk, pub, 3740240, 8), 0);
	CHECK_INT_EQ(ed25519_sign_expanded(sig, &part, 1, &blinded, bpub), 0);
	CHECK_INT_EQ(crypto_sign_verify_detached(sig, (const uint8_t *)msg,
	    sizeof(msg) - 1, bpub), 0);
	CHECK_INT_EQ(crypto_sign_verify_detached(sig, (const uint8_t *)msg,
	    sizeof(msg) - 1, pub), -1);
	sig[63] ^= 0x01;
	CHECK_INT_EQ(ed25519_verify(sig, (const uint8_t *)msg, sizeof(msg) - 1,
	    bpub), -1);
}

/* R of a signature by sk over msg, computed with prefix instead of sk's. */
static void
nonce_point(uint8_t R[32], const uint8_t prefix[32], const char *msg)
{
	crypto_hash_sha512_state st;
	uint8_t h[64], r[32];

	crypto_hash_sha512_init(&st);
	crypto_hash_sha512_update(&st, prefix, 32);
	crypto_hash_sha512_update(&st, (const uint8_t *)msg, strlen(msg));
	crypto_hash_sha512_final(&st, h);
	crypto_core_ed25519_scalar_reduce(r, h);
	CHECK_INT_EQ(crypto_scalarmult_ed25519_base_noclamp(R, r), 0);
}

/*
 * The nonce comes from the secret prefix: R = SHA-512(prefix | M).B,
 * different per message, and unlike any R built from public data.
 */
static void
test_nonce_uses_secret_prefix(void)
{
	struct ed25519_expanded sk;
	uint8_t pub[32], sig1[64], sig2[64], R[32], public_prefix[64];
	uint8_t zeros[32] = { 0 };
	struct bytes_ref m1 = BYTES_STR("message one");
	struct bytes_ref m2 = BYTES_STR("message two");

	load_expanded(&sk, tor_vectors[5].expanded);
	test_unhex(pub, 32, tor_vectors[5].pub);
	CHECK_INT_EQ(ed25519_sign_expanded(sig1, &m1, 1, &sk, pub), 0);
	CHECK_INT_EQ(ed25519_sign_expanded(sig2, &m2, 1, &sk, pub), 0);
	CHECK(memcmp(sig1, sig2, 32) != 0);

	nonce_point(R, sk.prefix, "message one");
	CHECK(memcmp(R, sig1, 32) == 0);
	crypto_hash_sha512(public_prefix, pub, 32);
	nonce_point(R, public_prefix, "message one");
	CHECK(memcmp(R, sig1, 32) != 0);
	nonce_point(R, zeros, "message one");
	CHECK(memcmp(R, sig1, 32) != 0);
	/* Same message, same key: deterministic. */
	CHECK_INT_EQ(ed25519_sign_expanded(sig2, &m1, 1, &sk, pub), 0);
	CHECK(memcmp(sig1, sig2, 64) == 0);
}

/* A public key that is not sk's must be refused, not used. */
static void
test_mismatched_pub_refused(void)
{
	struct ed25519_expanded sk, blinded;
	uint8_t other_pub[32], sig[64], untouched[64], bpub[32];
	struct bytes_ref m = BYTES_STR("message");

	load_expanded(&sk, tor_vectors[1].expanded);
	test_unhex(other_pub, 32, tor_vectors[2].pub);
	memset(sig, 0xa5, sizeof(sig));
	memset(untouched, 0xa5, sizeof(untouched));
	CHECK_INT_EQ(ed25519_sign_expanded(sig, &m, 1, &sk, other_pub), -1);
	/* Nothing that depends on the key was written. */
	CHECK(memcmp(sig, untouched, 64) == 0);
	/* Blinding with the wrong public key fails the a'.B == h'.A check. */
	memset(&blinded, 0xa5, sizeof(blinded));
	CHECK_INT_EQ(hs_blind_secret(&blinded, bpub, &sk, other_pub, 1, 1440),
	    -1);
	CHECK(sodium_is_zero((const uint8_t *)&blinded, sizeof(blinded)));
}

/*
 * Points every check must refuse.  No non-canonical encoding names a
 * point of the main subgroup (only y < 19 has one, and none of those
 * points is in it), so these also fail the subgroup test; what matters is
 * that nothing accepts them.
 */
static void
test_invalid_pubkeys(void)
{
	static const char *bad[] = {
		/* identity (order 1), y = -1 (order 2), y = 0 (order 4) */
	    "0100000000000000000000000000000000000000000000000000000000000000",
	    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	    "0000000000000000000000000000000000000000000000000000000000000000",
		/* order 8 */
	    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
		/* non-canonical: y = p, y = p + 1, y = p + 3 (on the curve) */
	    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	    "f0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		/* x = 0 with the sign bit set */
	    "0100000000000000000000000000000000000000000000000000000000000080",
	};
	uint8_t pub[32], out[32], sig[64] = { 0 };
	size_t i;

	for (i = 0; i < NELEM(bad); i++) {
		test_unhex(pub, 32, bad[i]);
		CHECK_INT_EQ(ed25519_pubkey_is_valid(pub), 0);
		CHECK_INT_EQ(hs_blind_pubkey(out, pub, 1, 1440), -1);
		CHECK_INT_EQ(ed25519_verify(sig, pub, 0, pub), -1);
	}
}

/* A valid key plus a point of order 2: canonical, but has torsion. */
static void
test_torsion_pubkey_refused(void)
{
	uint8_t pub[32], order2[32], mixed[32];

	test_unhex(pub, 32, tor_vectors[4].pub);
	test_unhex(order2, 32,
	    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
	CHECK_INT_EQ(crypto_core_ed25519_add(mixed, pub, order2), 0);
	CHECK_INT_EQ(ed25519_pubkey_is_valid(mixed), 0);
	CHECK_INT_EQ(hs_blind_pubkey(mixed, mixed, 1, 1440), -1);
}

static void
test_keypair_generate(void)
{
	struct ed25519_expanded *a, *b;
	uint8_t pa[32], pb[32], sig[64];
	struct bytes_ref m = BYTES_STR("fresh");

	a = sodium_malloc(sizeof(*a));
	b = sodium_malloc(sizeof(*b));
	CHECK(a != NULL && b != NULL);
	if (a == NULL || b == NULL)
		return;
	CHECK_INT_EQ(ed25519_keypair_generate(a, pa), 0);
	CHECK_INT_EQ(ed25519_keypair_generate(b, pb), 0);
	CHECK(memcmp(pa, pb, 32) != 0);
	CHECK_INT_EQ(ed25519_pubkey_is_valid(pa), 1);
	/* The scalar is clamped as RFC 8032 says. */
	CHECK_INT_EQ(a->scalar[0] & 7, 0);
	CHECK_INT_EQ(a->scalar[31] & 0xc0, 0x40);
	CHECK_INT_EQ(ed25519_sign_expanded(sig, &m, 1, a, pa), 0);
	CHECK_INT_EQ(ed25519_verify(sig, (const uint8_t *)"fresh", 5, pa), 0);
	CHECK_INT_EQ(ed25519_verify(sig, (const uint8_t *)"fresh", 5, pb), -1);
	sodium_free(a);
	sodium_free(b);
}

TEST_MAIN(
	TEST_CASE(test_rfc8032_vectors),
	TEST_CASE(test_sign_parts_equal_concatenation),
	TEST_CASE(test_tor_vectors_expand),
	TEST_CASE(test_tor_vectors_self_signatures),
	TEST_CASE(test_tor_vectors_blinding),
	TEST_CASE(test_blind_secret_in_place),
	TEST_CASE(test_blinding_basics),
	TEST_CASE(test_blinded_key_signs),
	TEST_CASE(test_nonce_uses_secret_prefix),
	TEST_CASE(test_mismatched_pub_refused),
	TEST_CASE(test_invalid_pubkeys),
	TEST_CASE(test_torsion_pubkey_refused),
	TEST_CASE(test_keypair_generate)
)
