def test_api_docs_use_vendored_assets_not_a_cdn(client):
    r = client.get("/api/v1/docs")
    assert r.status_code == 200
    body = r.content.decode()
    assert "swagger-ui-bundle.js" in body
    assert "cdn." not in body and "unpkg" not in body and "jsdelivr" not in body
