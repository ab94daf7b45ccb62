def test_register_credit_and_send(wallets):
    alice = wallets.user(balance=10_000)
    bob = wallets.user()
    response = alice.send(bob, 2_500)
    assert response.status_code == 201, response.json
    assert alice.wallet()["balance"] == 7_500
    assert bob.wallet()["balance"] == 2_500
