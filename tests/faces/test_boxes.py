import numpy as np
import pytest

from faceswap_gan.faces.boxes import box_iou, nms, regress, square_face_box, to_square


def test_iou_of_hand_made_boxes():
    a = np.array([0.0, 0, 9, 9])  # 10x10 pixels inclusive
    b = np.array([[0.0, 0, 9, 9], [5, 0, 14, 9], [20, 20, 29, 29], [0, 0, 4, 4]])
    np.testing.assert_allclose(box_iou(a, b), [1.0, 50 / 150, 0.0, 25 / 100])
    np.testing.assert_allclose(box_iou(a, b, "min"), [1.0, 0.5, 0.0, 1.0])
    with pytest.raises(ValueError):
        box_iou(a, b, "max")


def test_nms_keeps_best_of_each_cluster_in_score_order():
    boxes = np.array([[0.0, 0, 9, 9], [1, 1, 10, 10], [50, 50, 59, 59], [51, 50, 60, 59], [100, 0, 109, 9]])
    scores = np.array([0.8, 0.9, 0.7, 0.95, 0.1])
    assert nms(boxes, scores, 0.5).tolist() == [3, 1, 4]
    # A threshold above every overlap keeps everything.
    assert sorted(nms(boxes, scores, 0.99).tolist()) == [0, 1, 2, 3, 4]
    assert nms(np.zeros((0, 4)), np.zeros(0), 0.5).tolist() == []


@pytest.mark.parametrize("mode", ["union", "min"])
def test_nms_over_several_chunks_equals_one_box_at_a_time(mode):
    rng = np.random.default_rng(0)
    corner = rng.uniform(0, 400, (1100, 2))  # more than two chunks of 512, heavily overlapping
    boxes = np.concatenate([corner, corner + rng.uniform(10, 80, (1100, 2))], axis=1)
    scores = rng.random(1100).round(2)  # ties: the stable order must be kept
    order, expected = list(np.argsort(-scores, kind="stable")), []
    while order:
        expected.append(order[0])
        overlaps = box_iou(boxes[order[0]], boxes[order[1:]], mode)
        order = [i for i, overlap in zip(order[1:], overlaps, strict=True) if overlap <= 0.5]
    assert nms(boxes, scores, 0.5, mode).tolist() == expected


def test_to_square_grows_the_short_side_about_the_centre():
    sq = to_square(np.array([[10.0, 20, 30, 60]]))  # w 20, h 40
    np.testing.assert_allclose(sq, [[0, 20, 40, 60]])


def test_regress_uses_inclusive_sizes_for_r_and_o_net():
    box = np.array([[0.0, 0, 9, 19]])
    np.testing.assert_allclose(regress(box, np.array([[0.1, 0.1, -0.1, 0.0]])), [[1, 2, 8, 19]])
    np.testing.assert_allclose(regress(box, np.array([[0.1, 0, 0, 0]]), inclusive=False), [[0.9, 0, 9, 19]])


def test_square_face_box_is_centred_truncated_and_clipped():
    # w 40, h 60 -> side 50, centre (30, 50) -> half 25
    np.testing.assert_array_equal(square_face_box(np.array([10.0, 20, 50, 80]), 200, 200), [5, 25, 55, 75])
    # Near the border the box is clipped (and so no longer square), as in the original.
    np.testing.assert_array_equal(square_face_box(np.array([0.0, 0, 40, 60]), 200, 200), [0, 5, 45, 55])
